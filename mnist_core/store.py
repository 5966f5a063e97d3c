"""The run store: one folder per run, readable by any tool (TensorBoard's contract).

    cached_runs/
      reference/<run_id>/   runs shipped with the project: committed, read-only
      user/<run_id>/        the user's own runs: ignored by git
        run.json            config, status, environment, per-epoch history, timings
        events.out.tfevents.*   TensorBoard scalars and hparams
        model.keras         the trained model (when there is one)

``run.json`` is rewritten atomically after every epoch (write a temporary file, then rename it over
the old one), so a crash loses at most the epoch in progress and a reader never sees half a file.
Every change is a read-modify-write under a file lock, so a rename from the app and an epoch from the
trainer cannot overwrite each other.

Run ids are generated here; a user's name for a run is data inside run.json, never part of a path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import platform
import re
import secrets
import shutil
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from . import access, curves, record
from .config import ConfigError, RunConfig
from .owner import owner_alive, owner_token
from .record import RecordError
from .runfile import _NOFOLLOW, StoreError, read_record, write_json_atomic

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads of one process are still serialised
    fcntl = None

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
# A source checkout keeps runs beside the code: cached_runs/user (yours) and cached_runs/reference
# (shipped). An installed package has no such folder: your runs go to the user's data folder and the
# reference runs are read from the copy packaged inside mnist_core (see pyproject.toml).
SOURCE_CHECKOUT = (PROJECT_DIR / "cached_runs").is_dir()
DEFAULT_ROOT = PROJECT_DIR / "cached_runs"
if SOURCE_CHECKOUT:
    DEFAULT_USER_DIR, DEFAULT_REFERENCE_DIR = DEFAULT_ROOT / "user", DEFAULT_ROOT / "reference"
else:
    _data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    DEFAULT_USER_DIR = _data_home / "mnist-explorer" / "runs"
    DEFAULT_REFERENCE_DIR = Path(__file__).resolve().parent / "reference_runs"
RUNS_ENV = "MNIST_RUNS_DIR"  # where the user's runs go
REFERENCE_ENV = "MNIST_REFERENCE_RUNS"  # where shipped runs are read from ("" for none)
SCHEMA = 1
ACTIVE = ("queued", "running")
RUN_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[a-z0-9-]{1,64}-[0-9a-f]{6}$")
MAX_NAME = 100
MAX_TAG = 40
MAX_TAGS = 20
RUN_FILE = "run.json"
MODEL_FILE = "model.keras"


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def environment() -> dict[str, Any]:
    """What a timing depends on: the machine and the library versions."""
    env = {"python": platform.python_version(), "platform": platform.platform(),
           "machine": platform.machine(), "cpu_count": os.cpu_count(), "host": socket.gethostname()}
    for mod in ("tensorflow", "keras"):
        if mod in sys.modules:
            env[mod] = getattr(sys.modules[mod], "__version__", None)
    return env


# --- checking what users type --------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_name(name: str) -> str | None:
    """A run's display name: any text but control characters, at most MAX_NAME characters."""
    if not isinstance(name, str):
        raise StoreError("A run name must be text.")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise StoreError(f"A run name may have at most {MAX_NAME} characters; this one has {len(name)}.")
    if _CONTROL.search(name):
        raise StoreError("A run name may not contain control characters such as newlines or tabs.")
    return name or None


def clean_tags(tags: list[str] | str) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(",")
    out: list[str] = []
    for tag in tags:
        tag = str(tag).strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG:
            raise StoreError(f"A tag may have at most {MAX_TAG} characters; {tag[:20]!r}... has {len(tag)}.")
        if _CONTROL.search(tag):
            raise StoreError("A tag may not contain control characters such as newlines or tabs.")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise StoreError(f"A run may have at most {MAX_TAGS} tags, not {len(out)}.")
    return out


# --- one run ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """A run as read from its folder. ``data`` is the parsed run.json."""

    run_id: str
    path: Path
    data: dict
    reference: bool

    @property
    def config(self) -> RunConfig:
        return RunConfig.from_dict(self.data["config"])

    @property
    def status(self) -> str:
        return self.data["status"]

    @property
    def history(self) -> list[dict]:
        return self.data.get("history", [])

    @property
    def display_name(self) -> str:
        return self.data.get("name") or self.data.get("label") or self.run_id

    @property
    def owned_by(self) -> str | None:
        """The hash of the token of the browser that started it (see ``access``); None for the CLI's."""
        return self.data.get("owned_by")

    @property
    def model_path(self) -> Path | None:
        p = self.path / MODEL_FILE
        return p if p.is_file() else None


# Checked records, shared by every RunStore of this process (every session of the app reads through
# the same one): a run.json is parsed and checked against the schema once per version of the file,
# not once per session, page or listing. The key is the file's stat: every write is an atomic rename,
# which gives the file a new inode, so a changed run is read and checked again. The dicts are shared:
# readers must not change them (the store's own writes read the file afresh).
_records: dict[Path, tuple[tuple, dict]] = {}  # run.json path -> (stat key, checked record)
_records_lock = threading.Lock()


def _forget_gone(root: Path) -> None:
    """Drop the cached records of run folders under ``root`` that no longer exist (deleted elsewhere)."""
    with _records_lock:
        cached = [p for p in _records if p.parent.parent == root]
    gone = [p for p in cached if not p.exists()]
    if gone:
        with _records_lock:
            for p in gone:
                _records.pop(p, None)


class RunStore:
    """Runs in ``user_dir`` (read-write) and ``reference_dir`` (read-only, shipped with the project)."""

    def __init__(self, user_dir: str | os.PathLike | None = None,
                 reference_dir: str | os.PathLike | None | bool = True):
        env_user = os.environ.get(RUNS_ENV)
        self.user_dir = Path(user_dir or env_user or DEFAULT_USER_DIR).resolve()
        if reference_dir is True:
            env_ref = os.environ.get(REFERENCE_ENV)
            reference_dir = (env_ref or None) if env_ref is not None else DEFAULT_REFERENCE_DIR
        self.reference_dir = Path(reference_dir).resolve() if reference_dir else None

    # --- reading ---------------------------------------------------------------------------------------
    def _roots(self) -> list[tuple[Path, bool]]:
        roots = [(self.user_dir, False)]
        if self.reference_dir and self.reference_dir != self.user_dir:
            roots.append((self.reference_dir, True))
        return roots

    def _read(self, folder: Path) -> dict:
        path = folder / RUN_FILE
        st = os.stat(path, follow_symlinks=False)
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        with _records_lock:
            hit = _records.get(path)
            if hit and hit[0] == key:
                return hit[1]
        data = read_record(path)
        with _records_lock:
            _records[path] = (key, data)
        return data

    def list(self, warnings: list[str] | None = None) -> list[Run]:
        """Every readable run, newest first. Unreadable ones are skipped, each with a warning."""
        runs: list[Run] = []
        for root, reference in self._roots():
            if not root.is_dir():
                continue
            _forget_gone(root)
            for folder in root.iterdir():
                if not folder.is_dir() or folder.name.startswith("."):
                    continue
                problem = None
                if folder.is_symlink():
                    problem = "it is a symbolic link, which the store never follows"
                elif not RUN_ID_RE.match(folder.name):
                    problem = "its folder name is not a run id"
                else:
                    try:
                        runs.append(Run(folder.name, folder, self._read(folder), reference))
                        continue
                    except FileNotFoundError:
                        problem = "it has no run.json"
                    except RecordError as e:
                        problem = f"its run.json does not have the expected shape ({str(e)[:160]})"
                    except (OSError, UnicodeDecodeError, ValueError, ConfigError, TypeError) as e:
                        problem = f"its run.json is unreadable ({str(e)[:120]})"
                msg = f"Skipped {folder}: {problem}."
                log.warning(msg)
                if warnings is not None:
                    warnings.append(msg)
        runs.sort(key=lambda r: (str(r.data.get("created", "")), r.run_id), reverse=True)
        return runs

    def _folder(self, run_id: str, writable: bool = False) -> tuple[Path, bool]:
        if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id):
            raise StoreError(f"{str(run_id)[:80]!r} is not a run id.")
        for root, reference in self._roots():
            folder = root / run_id
            if folder.is_dir() and not folder.is_symlink():
                if writable and reference:
                    raise StoreError(f"Run {run_id} ships with the project and is read-only; "
                                     f"train your own run to change it.")
                return folder, reference
        raise StoreError(f"There is no run {run_id} in {self.user_dir}.")

    def get(self, run_id: str) -> Run:
        folder, reference = self._folder(run_id)
        try:
            return Run(run_id, folder, self._read(folder), reference)
        except (OSError, ValueError, ConfigError, TypeError) as e:
            raise StoreError(f"Run {run_id} has an unreadable run.json ({str(e)[:120]}).") from None

    # --- writing ---------------------------------------------------------------------------------------
    def create(self, config: RunConfig, name: str | None = None, tags: list[str] | None = None,
               group: str | None = None, status: str = "queued", owned_by: str | None = None) -> str:
        """A new run folder with its first run.json; returns the generated run id. ``owned_by`` is the
        starting browser's ``access.owner_id`` (None for the CLI)."""
        if owned_by is not None and not access.valid_owner(owned_by):
            raise StoreError("A run's owner must be an owner id (access.owner_id), not a token or a name.")
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        slug = re.sub(r"[^a-z0-9]+", "-", config.label.lower()).strip("-")[:64] or "run"
        record = {
            "schema": SCHEMA, "name": clean_name(name) if name else None,
            "tags": clean_tags(tags or []), "group": group,
            "label": config.label, "config": config.to_dict(), "config_hash": config.config_hash,
            "settings_hash": config.settings_hash(),
            "status": status, "reason": None, "created": now_iso(), "updated": now_iso(),
            "started": None, "ended": None, "owner": owner_token(), "owned_by": owned_by, "environment": environment(),
            "param_count": config.param_count() if not config.pca_variance else None,
            "pca": None, "setup_seconds": None, "compile_seconds": None,
            "history": [], "milestones": curves.milestones([]),
        }
        try:
            self.user_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"Could not create the run store {self.user_dir} ({e.strerror}): "
                             f"set {RUNS_ENV} to a writable folder.") from None
        # Written in a hidden folder, then renamed into place: a listing never sees a run without
        # its run.json.
        for _ in range(10):
            run_id = f"{stamp}-{slug}-{secrets.token_hex(3)}"
            folder = self.user_dir / run_id
            if folder.exists():
                continue
            record["run_id"] = run_id
            hidden = self.user_dir / f".new-{run_id}"
            try:
                hidden.mkdir()
                write_json_atomic(hidden / RUN_FILE, record)
                os.rename(hidden, folder)
                break
            except StoreError:
                shutil.rmtree(hidden, ignore_errors=True)
                raise
            except OSError as e:
                shutil.rmtree(hidden, ignore_errors=True)
                if folder.exists():
                    continue
                raise StoreError(f"Could not create {folder} ({e.strerror}): check that the disk has "
                                 f"space and {self.user_dir} is writable.") from None
        else:  # pragma: no cover
            raise StoreError("Could not find a free run id; try again.")
        return run_id

    @contextlib.contextmanager
    def _locked(self, folder: Path) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            with _fallback_lock:
                yield
            return
        try:
            fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
        except OSError as e:
            raise StoreError(f"Could not lock {folder} ({e.strerror}): check that the folder is "
                             f"writable.") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def update(self, run_id: str, change: Callable[[dict], None] | None = None, **fields: Any) -> dict:
        """Read run.json, apply ``change`` and ``fields``, refresh derived numbers, write atomically."""
        folder, _ = self._folder(run_id, writable=True)
        with self._locked(folder):
            try:
                data = read_record(folder / RUN_FILE)
            except (OSError, ValueError) as e:
                raise StoreError(f"Run {run_id} has an unreadable run.json ({str(e)[:120]}).") from None
            data.update(fields)
            if change:
                change(data)
            history = data.get("history", [])
            data["milestones"] = curves.milestones(history)
            data["best_test_accuracy"] = curves.best(history)
            # The final model's accuracy: the last epoch's, or with early stopping the best epoch's,
            # whose weights the model was given back.
            best = data.get("best_epoch")
            final = history[best - 1] if isinstance(best, int) and 0 < best <= len(history) else (history or [None])[-1]
            data["final_test_accuracy"] = final["test_accuracy"] if final else None
            data["seconds_per_epoch"] = curves.seconds_per_epoch(history)
            data["updated"] = now_iso()
            try:  # what is written must be readable: a change that breaks the schema is refused
                record.check(data)
            except RecordError as e:
                raise StoreError(f"Refused to store run {run_id}: {e}.") from None
            write_json_atomic(folder / RUN_FILE, data)
            return data

    def append_epoch(self, run_id: str, entry: dict) -> dict:
        return self.update(run_id, lambda d: d["history"].append(dict(entry)))

    # Renaming, tagging and deleting are for the run's owner or the teacher (``access``): ``by`` is the
    # browser asking; None is the operator (the CLI, the queue itself).
    def _require_change(self, run_id: str, by: access.Actor | None) -> None:
        if by is not None:
            self._folder(run_id, writable=True)  # a missing or shipped run says so first
            access.require_change(by, self.get(run_id).owned_by, f"Run {run_id}")

    def rename(self, run_id: str, name: str, by: access.Actor | None = None) -> None:
        self._require_change(run_id, by)
        self.update(run_id, name=clean_name(name))

    def set_tags(self, run_id: str, tags: list[str] | str, by: access.Actor | None = None) -> None:
        self._require_change(run_id, by)
        self.update(run_id, tags=clean_tags(tags))

    def delete(self, run_id: str, by: access.Actor | None = None) -> None:
        """Delete a user run's folder; shipped runs, running runs, anything outside the store and
        (for ``by``) other browsers' runs are refused."""
        folder, _ = self._folder(run_id, writable=True)
        run = self.get(run_id)
        access.require_change(by, run.owned_by, f"Run {run_id}")
        if run.status in ACTIVE and owner_alive(run.data.get("owner")):
            raise StoreError(f"Run {run_id} is still {run.status}; stop it before deleting it.")
        real = folder.resolve()
        if real.parent != self.user_dir or folder.is_symlink():
            raise StoreError(f"Refusing to delete {folder}: it is not a run folder of {self.user_dir}.")
        shutil.rmtree(real)
        with _records_lock:
            _records.pop(folder / RUN_FILE, None)

    def mark_interrupted(self) -> list[str]:
        """Runs left queued or running by a process that has died become ``interrupted``, keeping
        every epoch they logged. Called once when the app or the CLI starts."""
        marked = []
        for run in self.list():
            if run.reference or run.status not in ACTIVE or owner_alive(run.data.get("owner")):
                continue
            n = len(run.history)
            try:
                self.update(run.run_id, status="interrupted", ended=now_iso(),
                            reason=f"the process training it ended after {n} epoch{'s' * (n != 1)}")
                marked.append(run.run_id)
                log.info("Run %s was left %s by a process that has ended; stored as interrupted with its "
                         "%d epoch%s.", run.run_id, run.status, n, "s" * (n != 1))
            except StoreError as e:
                log.warning("%s", e)
        return marked

    def find_settings(self, config: RunConfig, statuses=("finished",)) -> list[Run]:
        """Stored runs with these exact settings (epochs included), e.g. to skip them in a sweep."""
        return [r for r in self.list() if r.data.get("config_hash") == config.config_hash
                and r.status in statuses]


_fallback_lock = threading.RLock()
