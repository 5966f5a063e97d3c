"""A run's model for people without this project: what the saved ``model.keras`` promises, and the
five lines that use it. (No TensorFlow here: the app shows these texts; model.for_export builds the model.)

The promise, kept by ``model.for_export`` and checked by tests/test_export.py against a real run:
plain Keras 3 loads the file (``keras.saving.load_model``, safe mode, nothing to register), and the
model takes MNIST-style images as they usually come and returns the probabilities of the 10 classes.
"""

from __future__ import annotations

import json
import zipfile

from .data import DISPLAY_NAMES

INPUTS = ("It takes images of shape (N, 28, 28) or (N, 784), as uint8 0-255 or float 0-1: an image whose "
          "brightest pixel is above 1 is read as 0-255 and divided by 255, any other as 0-1 already. It "
          "returns the probabilities of the 10 classes (N, 10), and is compiled with its training loss and "
          "accuracy, so evaluate and fit work on integer labels. The PCA projection, if the run used one, "
          "is inside the model. Keras compiles predict for the first layout it is given: to switch between "
          "(N, 28, 28) and (N, 784) in one session, call model(x) or load the model again.")

_LOADERS = {"mnist": "mnist", "fashion_mnist": "fashion_mnist"}


def model_file_name(run_id: str) -> str:
    """The name a downloaded model gets (and the snippet opens)."""
    return f"{run_id}.keras"


def usage_snippet(run_id: str, dataset: str = "mnist") -> str:
    """Five lines of Python that load the run's model with plain Keras and use it on the test set."""
    loader = _LOADERS.get(dataset, "mnist")
    return (
        f"import keras  # Keras 3 and TensorFlow (pip install tensorflow); nothing from this project\n"
        f'model = keras.saving.load_model("{model_file_name(run_id)}")  # compiled: predict, evaluate, fit\n'
        f"(_, _), (x_test, y_test) = keras.datasets.{loader}.load_data()  # {DISPLAY_NAMES.get(dataset, dataset)}: "
        f"uint8, (N, 28, 28)\n"
        f"print(model.evaluate(x_test, y_test, return_dict=True))  # test accuracy and loss\n"
        f"print(model.predict(x_test[:5]).argmax(axis=1), y_test[:5])  # predicted classes, then the truth\n"
    )


def is_portable(model_path) -> bool:
    """Whether a saved model is in the format above (ends in a softmax layer named "probabilities").
    Models saved before it output logits on flat 0-1 inputs; the snippet does not fit them. Read from
    the archive's config.json without loading TensorFlow; anything unreadable counts as not portable."""
    try:
        with zipfile.ZipFile(model_path) as z:
            info = z.getinfo("config.json")
            if info.file_size > 1_000_000:  # a model of ours has a config of a few kB
                return False
            config = json.loads(z.read(info))
        return config["config"]["layers"][-1]["class_name"] == "Softmax"
    except (OSError, KeyError, IndexError, TypeError, ValueError, zipfile.BadZipFile):
        return False
