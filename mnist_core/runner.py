"""One training from a RunConfig to a stored run: the glue between the trainer and the store.

The CLI calls it in the foreground and the job queue calls it in a worker thread; either way the run
folder is kept current epoch by epoch, and whatever goes wrong ends as a stored status with a
one-sentence reason rather than a lost run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

from .config import ConfigError, RunConfig
from .data import DataError
from .owner import owner_token
from .store import MODEL_FILE, Run, RunStore, StoreError, environment, now_iso

log = logging.getLogger(__name__)


class TrainerLost(Exception):
    """The process training a run elsewhere (a Ray worker) died or could not be reached; the message
    is one sentence for the run's reason."""


def execute(config: RunConfig, store: RunStore, run_id: str | None = None, on_event=None,
            stop: threading.Event | None = None, data_path: str | None = None,
            save_model: bool = True, train_fn=None) -> Run:
    """Train ``config`` into run ``run_id`` (created if None) and return the stored run.

    ``on_event`` receives the trainer's events, each with ``run_id`` added, and a final
    ``{"event": "end", "status", "reason"}`` sent after the run is stored.
    ``train_fn`` replaces ``train.train`` (same arguments and events) to train somewhere else, as
    ``cluster.py`` does on a Ray worker: everything stored is still written here. Its result may carry
    the saved model as ``model_bytes`` and the trainer's machine as an ``environment`` event.
    """
    emit = on_event or (lambda _e: None)
    run_id = run_id or store.create(config)
    status, reason, stored = "failed", None, False
    writer, analysis, epochs = None, None, []
    try:
        store.update(run_id, status="running", started=now_iso(), owner=owner_token())
        # TensorFlow is imported here, not at module level, so `runs` and the app start fast.
        from .events import EventWriter
        from .train import train

        writer = EventWriter(store.get(run_id).path, run_id, config)
        store.update(run_id, environment=environment())

        def handle(event: dict) -> None:
            if event["event"] == "setup":
                store.update(run_id, param_count=event["param_count"], pca=event["pca"],
                             setup_seconds=event["setup_seconds"], source=event["source"])
            elif event["event"] == "epoch":
                entry = {k: v for k, v in event.items() if k not in ("event", "run_id")}
                store.append_epoch(run_id, entry)
                writer.epoch(entry)
                epochs.append(entry["epoch"])
            elif event["event"] == "environment":  # a remote trainer's machine and versions: stored only
                store.update(run_id, environment=event["environment"])  # (the time limit starts at setup)
                return
            elif event["event"] == "snapshot":  # numpy arrays: stored here, only a notice goes on
                _save_snapshot(store.get(run_id).path, event["arrays"])
                writer.snapshot(event["arrays"])
                event = {"event": "snapshot", "epoch": event["epoch"]}
            if event["event"] != "end":  # ours is sent below, once the run is stored
                emit({**event, "run_id": run_id})

        result = (train_fn or train)(config, handle, stop, data_path=data_path)
        status, reason = result.status, result.reason
        if save_model and status in ("finished", "stopped"):
            if getattr(result, "model_bytes", None):
                _write_atomically(store.get(run_id).path, MODEL_FILE, result.model_bytes)
            elif result.model is not None:
                _write_atomically(store.get(run_id).path, MODEL_FILE, model_bytes(result))
        result.release()  # the model is saved: its compiled loop may serve the next run
        store.update(run_id, status=status, reason=reason, ended=now_iso(), best_epoch=result.best_epoch,
                     compile_seconds=result.compile_seconds, analysis=result.analysis)
        stored, analysis = True, result.analysis
    except (ConfigError, DataError, StoreError, TrainerLost) as e:
        reason = str(e)
    except Exception as e:  # noqa: BLE001 - any crash must end as a stored, explained failure
        log.exception("run %s crashed", run_id)
        reason = f"{type(e).__name__}: {e}".splitlines()[0][:300]
    finally:
        if writer is not None:
            # TensorBoard's session ends too, a crash as a failure; a write error here loses no run.
            with contextlib.suppress(StoreError):
                writer.end(status if stored else "failed", reason, epochs[-1] if epochs else 0, analysis)
            writer.close()
    if not stored:
        status = "failed"
        try:
            store.update(run_id, status="failed", reason=reason, ended=now_iso())
        except StoreError as e:  # the store itself is failing: say so, the caller still learns why
            reason = f"{reason} ({e})"
    emit({"event": "end", "run_id": run_id, "status": status, "reason": reason})
    try:
        return store.get(run_id)
    except StoreError:
        raise StoreError(f"Run {run_id} failed and could not be stored: {reason}") from None


def _save_snapshot(folder: Path, arrays: dict) -> None:
    from .snapshots import save

    try:
        save(folder, arrays)
    except OSError as e:
        raise StoreError(f"Could not save a snapshot in {folder} ({e.strerror}): check that the disk "
                         f"has space and the folder is writable.") from None


def _write_atomically(folder: Path, name: str, content: bytes) -> None:
    """To a temporary name, then renamed, so a crash never leaves half a file."""
    tmp = folder / f".tmp-{name}"
    try:
        tmp.write_bytes(content)
        os.replace(tmp, folder / name)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"Could not save {name} in {folder} ({e.strerror}): check that the disk "
                         f"has space and the folder is writable.") from None


def model_bytes(result) -> bytes:
    """The model.keras file of a training's result, as bytes (a remote trainer sends them home)."""
    import tempfile

    from .model import for_export

    with tempfile.TemporaryDirectory(prefix="mnist-model-") as folder:
        path = Path(folder) / MODEL_FILE
        for_export(result.model, result.config, result.pca_transform).save(path)
        return path.read_bytes()
