"""Import TensorFlow and Keras once, quietly, with the TensorFlow backend, and give the process a
temp folder of its own that is removed at exit (TensorFlow litters the shared one).

Importing TensorFlow takes seconds, so only the modules that train or load models import this one;
the config, the data loader and the run store do not, which keeps the app's first paint fast.
"""

import atexit
import os
import shutil
import tempfile

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


TEMP_PREFIX = "mnist-tf-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _private_tempdir() -> str:
    """Give this process a temp folder of its own, removed when it exits.

    TensorFlow's autograph writes the Python source of every function it converts to the temp folder
    (``__autograph_generated_file*.py``) and never deletes it; every run traces new functions, so a
    server that trains all day would fill /tmp. Here they land in ``mnist-tf-<pid>-*/`` instead. A
    process killed before it could clean up (SIGKILL, a crash) leaves its folder; the next process to
    start removes the folders of processes that no longer exist."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        pid = name[len(TEMP_PREFIX):].split("-", 1)[0]
        if name.startswith(TEMP_PREFIX) and pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    path = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=base)
    tempfile.tempdir = path  # Python's tempfile, which autograph uses
    os.environ["TMPDIR"] = path  # and anything reading the variable (TensorFlow's C++ side)
    atexit.register(remove_private_tempdir)
    return path


def remove_private_tempdir() -> None:
    """Remove this process's temp folder; for processes that leave with ``os._exit`` (no atexit)."""
    shutil.rmtree(TEMP_DIR, ignore_errors=True)


TEMP_DIR = _private_tempdir()
keras, tf = _import_quietly()

__all__ = ["keras", "tf"]
