"""Logging, set up once per process by its entry point: the CLI, a worker process, the app.

The core's modules only call ``logging.getLogger(__name__)``; without a handler Python would show
their warnings and drop their info messages. ``setup`` gives the ``mnist_core`` logger one handler
on standard error (a worker's standard error is the server's, so the app's log has both), and does
not pass records on to the root logger, whose handlers (Streamlit's, a test runner's) would print
them a second time.
"""

from __future__ import annotations

import logging
import sys
from collections import OrderedDict

LOGGER = "mnist_core"


class _OncePerProcess(logging.Filter):
    """A warning describes a state (a run folder that cannot be read, a bad setting), and every
    listing of the store would repeat it: each distinct warning is let through once per process."""

    def __init__(self, remember: int = 1000):
        super().__init__()
        self.seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.remember = remember

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        key = (record.name, record.getMessage())
        if key in self.seen:
            return False
        self.seen[key] = None
        if len(self.seen) > self.remember:
            self.seen.popitem(last=False)
        return True


class _CliFormatter(logging.Formatter):
    """``warning: ...``, ``info: ...``: the look of the CLI's own ``error: ...`` lines."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (as logging's own last-resort handler
    does), so a replaced stderr (a test runner's capture, a redirect) is followed, never a stale one."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup(cli: bool = False) -> logging.Logger:
    """Show the core's info messages and warnings on standard error; calling it again does nothing."""
    logger = logging.getLogger(LOGGER)
    if not any(getattr(h, "_mnist_core", False) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(_CliFormatter() if cli else
                             logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(_OncePerProcess())
        handler._mnist_core = True
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger
