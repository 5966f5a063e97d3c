"""Import TensorFlow and Keras once, quietly, with the TensorFlow backend.

Importing TensorFlow takes seconds, so only the modules that train or load models import this one;
the config, the data loader and the run store do not, which keeps the app's first paint fast.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ info and warning lines


def _import_quietly():
    """TensorFlow's C++ side prints a dozen lines (oneDNN, CUDA not found, CPU features) before its
    log level applies; they worry users and say nothing about this CPU-only project. Standard error
    is pointed at /dev/null while it loads and finds its devices. Python errors still surface: they
    are raised after it is restored."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras
        import tensorflow as tf

        tf.config.list_logical_devices()  # device discovery logs the CUDA probe: do it now
        # Every run builds a new model, hence new tf.functions to trace; TensorFlow's warning about
        # "excessive retracing" assumes one long-lived model and would only confuse here.
        tf.get_logger().setLevel("ERROR")
        return keras, tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


keras, tf = _import_quietly()

__all__ = ["keras", "tf"]
