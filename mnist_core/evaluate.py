"""Evaluate a saved model on a dataset's test set: accuracy, loss, confusion matrix, per class."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import Dataset


def predict_proba(model, x: np.ndarray) -> np.ndarray:
    """Class probabilities for flat float 0-1 images. Saved models end in a softmax; models saved by
    earlier versions output logits, which softmax turns into probabilities."""
    from .model import outputs_probabilities
    from .tf_env import keras

    out = model.predict(x, batch_size=2000, verbose=0)
    if outputs_probabilities(model):
        return np.asarray(out)
    return keras.ops.convert_to_numpy(keras.ops.softmax(out, axis=1))


def summarize(y_true: np.ndarray, proba: np.ndarray) -> dict:
    from sklearn.metrics import confusion_matrix, log_loss

    pred = proba.argmax(axis=1)
    cm = confusion_matrix(y_true, pred, labels=list(range(10)))
    per_class = cm.diagonal() / np.maximum(cm.sum(axis=1), 1)
    return {"accuracy": float((pred == y_true).mean()),
            "loss": float(log_loss(y_true, np.clip(proba, 1e-7, 1), labels=list(range(10)))),
            "confusion": cm.tolist(), "per_class_accuracy": per_class.tolist(), "predictions": pred}


MISCLASSIFIED_KEPT = 1000


def analyse(y_true: np.ndarray, proba: np.ndarray) -> dict:
    """What run.json keeps about the final model: enough for the details page without its weights.
    Misclassified test images are kept as indices into the test set, most confident mistakes first."""
    s = summarize(y_true, proba)
    pred = s["predictions"]
    wrong = np.flatnonzero(pred != y_true)
    confidence = proba[wrong, pred[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:MISCLASSIFIED_KEPT]
    return {"accuracy": s["accuracy"], "confusion": s["confusion"],
            "per_class_accuracy": s["per_class_accuracy"], "misclassified_total": int(len(wrong)),
            "misclassified": [{"index": int(i), "true": int(y_true[i]), "pred": int(pred[i]),
                               "confidence": round(float(proba[i, pred[i]]), 4),
                               "top3": [int(c) for c in np.argsort(-proba[i])[:3]]} for i in order]}


def evaluate_model(path: Path, ds: Dataset) -> dict:
    from .model import load_model

    return summarize(ds.y_test, predict_proba(load_model(path), ds.x_test))
