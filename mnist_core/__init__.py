"""mnist_core: everything that is not UI. Data, RunConfig, model, trainer, run store, job queue, CLI.

Nothing here imports Streamlit, and importing the package does not import TensorFlow: only the
modules that train or load models do (``train``, ``runner``, ``events``, ``model``).
"""

import sys

# The Python versions the pinned TensorFlow 2.21, Keras 3.15 and Streamlit 1.67 all support; also
# pyproject's requires-python. Checked first, in syntax any Python 3 reads, so an unsupported one gets
# this sentence instead of a syntax error or a missing wheel deep inside an import.
PYTHON_MIN, PYTHON_MAX = (3, 11), (3, 13)
if not PYTHON_MIN <= tuple(sys.version_info[:2]) <= PYTHON_MAX:
    sys.stderr.write("error: MNIST explorer needs Python %d.%d to %d.%d, and this is Python %d.%d.%d: run it "
                     "with a supported python, e.g. python3.11 -m mnist_core\n"
                     % (PYTHON_MIN + PYTHON_MAX + tuple(sys.version_info[:3])))
    raise SystemExit(2)

from .config import ConfigError, RunConfig  # noqa: E402 - after the version check

__all__ = ["ConfigError", "RunConfig"]
