import numpy as np

from mnist_core.evaluate import MISCLASSIFIED_KEPT, analyse


def test_analysis_of_known_predictions():
    y = np.array([0, 1, 2, 2, 3])
    proba = np.full((5, 10), 0.01)
    for i, p in enumerate([0, 1, 1, 2, 0]):  # mistakes: image 2 (2->1) and image 4 (3->0)
        proba[i, p] = 0.9
    proba[4, 0] = 0.95  # the more confident mistake
    a = analyse(y, proba)
    assert a["accuracy"] == 0.6 and a["misclassified_total"] == 2
    assert [m["index"] for m in a["misclassified"]] == [4, 2]
    assert a["misclassified"][0] == {"index": 4, "true": 3, "pred": 0, "confidence": 0.95, "top3": [0, 1, 2]}
    assert a["confusion"][2] == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert a["per_class_accuracy"][:4] == [1.0, 1.0, 0.5, 0.0]


def test_at_most_a_thousand_mistakes_are_kept():
    y = np.zeros(3000, dtype=int)
    proba = np.zeros((3000, 10))
    proba[:, 1] = np.linspace(0.5, 1.0, 3000)
    a = analyse(y, proba)
    assert a["misclassified_total"] == 3000 and len(a["misclassified"]) == MISCLASSIFIED_KEPT
    assert a["misclassified"][0]["index"] == 2999
