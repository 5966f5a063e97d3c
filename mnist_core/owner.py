"""Which process is training a run.

A run being trained holds an *owner token* in its run.json: the trainer's pid, host and the time the
kernel says that process started. A run left ``running`` whose owner is gone (the app was killed, the
machine rebooted) is shown and stored as interrupted instead of running forever. The start time is
what tells a dead trainer from a new process that happens to have been given the same pid."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _process_start(pid: int) -> str | None:
    """Start time of a process (Linux), so a recycled pid is not mistaken for the trainer. The 22nd
    field of /proc/<pid>/stat; the process name before it is in brackets and may hold ') ' itself."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_token() -> dict:
    """This process, as a run's owner."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "start": _process_start(os.getpid())}


def owner_alive(owner: dict | None) -> bool:
    """Whether the process of this token still runs on this machine. It only asks (signal 0), never
    signals it; another machine's trainer cannot be asked and counts as gone."""
    if not owner or owner.get("host") != socket.gethostname():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        pass
    start = _process_start(pid)
    return start is None or start == owner.get("start")
