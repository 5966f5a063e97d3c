"""What one run may cost on a shared server, set by the teacher through the environment.

One 4096x4096x4096x4096 network trains for over half an hour and holds the only training slot while
a class waits. The teacher bounds what a student may ask for:

    MNIST_MAX_PARAMS            parameters of one network
    MNIST_MAX_EPOCHS            epochs of one run
    MNIST_MAX_RUN_SECONDS       wall-clock seconds a run may train; then it is stopped (epochs kept)
    MNIST_MAX_QUEUED_PER_USER   runs one browser may have waiting (default 3 with a teacher password)

A config over a limit is refused before it is queued, with one sentence naming the limit. The job
queue enforces them (``jobs.JobQueue.submit``); the Train page only shows them beside the controls.
The teacher's own runs are not limited.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from . import access
from .config import RunConfig

log = logging.getLogger(__name__)

PARAMS_ENV = "MNIST_MAX_PARAMS"
EPOCHS_ENV = "MNIST_MAX_EPOCHS"
SECONDS_ENV = "MNIST_MAX_RUN_SECONDS"
QUEUED_ENV = "MNIST_MAX_QUEUED_PER_USER"
DEFAULT_QUEUED = 3  # with a teacher password; one person alone queues as much as they like


class LimitError(ValueError):
    """A run asks for more than this server allows. The message is one sentence naming the limit."""


def _number(name: str, environ) -> float | None:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw.replace("_", "").replace(",", ""))
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        log.warning("%s=%r is not a positive number; that limit is off", name, raw)
        return None
    return value


def _count(n: float) -> str:
    return f"{n:,.0f}"


def duration(seconds: float) -> str:
    """60 -> '1 min', 90 -> '90 s', 3600 -> '60 min'."""
    return f"{seconds / 60:g} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds:g} s"


@dataclass(frozen=True)
class Limits:
    max_params: int | None = None
    max_epochs: int | None = None
    max_run_seconds: float | None = None
    max_queued_per_user: int | None = None

    @classmethod
    def from_env(cls, environ=None) -> "Limits":
        environ = os.environ if environ is None else environ
        params, epochs = _number(PARAMS_ENV, environ), _number(EPOCHS_ENV, environ)
        queued = _number(QUEUED_ENV, environ)
        if queued is None and QUEUED_ENV not in environ and environ.get(access.TEACHER_ENV):
            queued = DEFAULT_QUEUED
        return cls(max_params=int(params) if params else None, max_epochs=int(epochs) if epochs else None,
                   max_run_seconds=_number(SECONDS_ENV, environ),
                   max_queued_per_user=int(queued) if queued else None)

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.max_params, self.max_epochs, self.max_run_seconds,
                                           self.max_queued_per_user))

    def check(self, config: RunConfig, pca_components: int | None = None) -> None:
        """Raise LimitError if ``config`` is over a limit. With ``pca_variance`` the input width is known
        only after fitting PCA; without ``pca_components`` the count assumes all 784 pixels (an upper bound)."""
        if self.max_epochs is not None and config.epochs > self.max_epochs:
            raise LimitError(f"{config.epochs} epochs is more than this server allows for one run "
                             f"({self.max_epochs}): lower Epochs to {self.max_epochs} or fewer.")
        if self.max_params is not None:
            components = pca_components or (784 if config.pca_variance else None)
            params = config.param_count(components)
            if params > self.max_params:
                raise LimitError(f"This network has {_count(params)} parameters, more than this server allows "
                                 f"for one run ({_count(self.max_params)}): use fewer or smaller hidden layers"
                                 f"{' or PCA' if not config.uses_pca else ''}.")

    def describe(self) -> str | None:
        """One line for the Train page, e.g. 'Limits on this server: 1,000,000 parameters, ...'."""
        parts = []
        if self.max_params is not None:
            parts.append(f"at most {_count(self.max_params)} parameters")
        if self.max_epochs is not None:
            parts.append(f"{self.max_epochs} epochs")
        if self.max_run_seconds is not None:
            parts.append(f"{duration(self.max_run_seconds)} of training per run (then it is stopped, "
                         f"keeping its epochs)")
        if self.max_queued_per_user is not None:
            parts.append(f"{self.max_queued_per_user} waiting runs per browser")
        return f"Limits on this server: {', '.join(parts)}." if parts else None
