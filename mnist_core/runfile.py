"""A run's record on disk, read and written so that no file can hurt the server.

Reading: never through a symbolic link (a link planted in a run folder must not make the store read
anything outside it), at most MAX_RECORD_BYTES (a huge file costs that much memory at most), strict
JSON (no NaN), and checked against the schema (``record``). Writing: to a temporary file beside the
record, flushed to disk, then renamed over it, so a crash leaves the old file or the new one, never half
of one; the temporary file is not written through a link either."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path

from . import record

MAX_RECORD_BYTES = 32 * 2**20  # a run.json of 500 epochs with layer health is well under 1 MB
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class StoreError(RuntimeError):
    """A run cannot be found, changed or written. The message is one sentence."""


def _not_json(constant: str):
    raise ValueError(f"{constant} is not a JSON number")


def read_record(path: Path) -> dict:
    """Parse and check one run.json (record.SCHEMA): at most MAX_RECORD_BYTES, never through a link.
    Raises OSError, ValueError (RecordError when its shape is wrong) or UnicodeDecodeError."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        raw = f.read(MAX_RECORD_BYTES + 1)
    if len(raw) > MAX_RECORD_BYTES:
        raise ValueError(f"run.json is larger than {MAX_RECORD_BYTES // 2**20} MB")
    data = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    record.check(data)
    return data


def write_json_atomic(path: Path, data: dict) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, 0o644)
        with open(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, ValueError) as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"Could not write {path} ({e.strerror if isinstance(e, OSError) else e}): "
                         f"check that the disk has space and the folder is writable.") from None
