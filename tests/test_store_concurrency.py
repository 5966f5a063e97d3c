"""Two writers on one run: the trainer appending an epoch while the app renames the run. Every
change is a read-modify-write of run.json under a file lock; without it one of them is lost."""

import contextlib
import subprocess
import sys
import threading
import time

from mnist_core import owner
from mnist_core import store as store_mod
from mnist_core.config import RunConfig
from mnist_core.store import RunStore

ENTRY = {"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8, "test_loss": 0.4, "test_accuracy": 0.9,
         "train_seconds": 0.6, "wall_seconds": 0.7}


def _rename_during_an_append(store: RunStore, run_id: str) -> None:
    """The trainer reads run.json to append an epoch and is slow to write it back; meanwhile the app
    renames the run."""
    reading = threading.Event()

    def slow_append(data):
        reading.set()
        time.sleep(0.5)  # between reading and writing run.json
        data["history"].append(dict(ENTRY))

    trainer = threading.Thread(target=store.update, args=(run_id, slow_append))
    trainer.start()
    assert reading.wait(5)
    store.rename(run_id, "renamed meanwhile")
    trainer.join(10)


def test_a_rename_during_an_epoch_append_keeps_both(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create(RunConfig())
    _rename_during_an_append(store, run_id)
    run = store.get(run_id)
    assert run.display_name == "renamed meanwhile" and len(run.history) == 1


def test_without_the_lock_the_same_rename_is_lost(tmp_path, monkeypatch):
    # What the lock is for: the same interleaving with the lock taken out loses the rename.
    monkeypatch.setattr(RunStore, "_locked", lambda self, folder: contextlib.nullcontext())
    store = RunStore(tmp_path)
    run_id = store.create(RunConfig())
    _rename_during_an_append(store, run_id)
    run = store.get(run_id)
    assert len(run.history) == 1 and run.data["name"] is None


WRITER = """
import sys
from mnist_core.store import RunStore
store, run_id = RunStore(sys.argv[1]), sys.argv[2]
for i in range(1, 26):
    store.append_epoch(run_id, {"epoch": i, "train_loss": 0.5, "train_accuracy": 0.8, "test_loss": 0.4,
                                "test_accuracy": 0.9, "train_seconds": i, "wall_seconds": i})
"""


def test_a_trainer_process_and_the_app_writing_at_once_lose_nothing(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create(RunConfig())
    trainer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), run_id],
                               cwd=store_mod.PROJECT_DIR)
    tags = []
    while trainer.poll() is None and len(tags) < 200:
        tags.append(f"t{len(tags)}")
        store.set_tags(run_id, tags[-3:])
    assert trainer.wait(60) == 0
    run = store.get(run_id)
    assert [h["epoch"] for h in run.history] == list(range(1, 26))
    assert run.data["tags"] == tags[-3:]


def test_a_run_whose_trainer_pid_was_reused_is_marked_interrupted(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create(RunConfig())
    store.append_epoch(run_id, ENTRY)
    me = owner.owner_token()
    store.update(run_id, status="running", owner={**me, "start": str(int(me["start"]) + 1)})
    assert store.mark_interrupted() == [run_id]
    run = store.get(run_id)
    assert run.status == "interrupted" and len(run.history) == 1
