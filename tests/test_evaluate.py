import numpy as np
import pytest

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


def test_models_saved_before_and_after_the_export_format_evaluate_alike(tmp_path, small_mnist):
    """Older runs stored a bare logits model on flat 0-1 inputs; newer ones a softmax model that also
    takes images. The project's own loaders (evaluate, the worker's predict) read both the same."""
    from mnist_core import export
    from mnist_core.config import RunConfig
    from mnist_core.evaluate import evaluate_model
    from mnist_core.model import build_model, for_export
    from mnist_core.worker import _predict

    net = build_model(RunConfig(hidden=(32,)), 784)
    net.save(tmp_path / "old.keras")  # the format before for_export: logits, uncompiled
    for_export(net, RunConfig(hidden=(32,))).save(tmp_path / "new.keras")
    old, new = evaluate_model(tmp_path / "old.keras", small_mnist), evaluate_model(tmp_path / "new.keras", small_mnist)
    assert old["accuracy"] == new["accuracy"] and old["confusion"] == new["confusion"]
    assert old["loss"] == pytest.approx(new["loss"], rel=1e-4)
    assert export.is_portable(tmp_path / "new.keras") and not export.is_portable(tmp_path / "old.keras")

    class Run:  # what the worker's store lookup returns, for each file
        def __init__(self, name):
            self.run_id, self.model_path = name, tmp_path / name

    class Store:
        def get(self, name):
            return Run(name)

    pixels = small_mnist.x_test[0].tolist()
    p_old = _predict({"run_id": "old.keras", "pixels": pixels}, Store())["probabilities"]
    p_new = _predict({"run_id": "new.keras", "pixels": pixels}, Store())["probabilities"]
    np.testing.assert_allclose(p_old, p_new, atol=1e-5)
    assert sum(p_new) == pytest.approx(1, abs=1e-5)
