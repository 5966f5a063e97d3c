"""mnist_core: everything that is not UI. Data, RunConfig, model, trainer, run store, job queue, CLI.

Nothing here imports Streamlit, and importing the package does not import TensorFlow: only the
modules that train or load models do (``train``, ``runner``, ``events``, ``model``).
"""

from .config import ConfigError, RunConfig

__all__ = ["ConfigError", "RunConfig"]
