import json
import os
import subprocess
import sys

import pytest

from mnist_core import store as store_mod
from mnist_core.config import RunConfig
from mnist_core.store import RunStore, StoreError
from tests.helpers import stored_run

ENTRY = {"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8, "test_loss": 0.4, "test_accuracy": 0.9,
         "train_seconds": 0.6, "wall_seconds": 0.7}


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "user", tmp_path / "reference")


def test_create_update_and_read_back(store):
    run_id = store.create(RunConfig(activation="elu"), name="my run", tags=["a", "b"])
    assert store_mod.RUN_ID_RE.match(run_id) and "elu" in run_id
    store.append_epoch(run_id, ENTRY)
    store.append_epoch(run_id, {**ENTRY, "epoch": 2, "test_accuracy": 0.975, "train_seconds": 1.2})
    run = store.get(run_id)
    assert run.status == "queued" and run.display_name == "my run" and run.data["tags"] == ["a", "b"]
    assert run.config == RunConfig(activation="elu")
    assert run.data["best_test_accuracy"] == 0.975 and run.data["final_test_accuracy"] == 0.975
    assert run.data["milestones"] == {"97": {"epoch": 2, "train_seconds": 1.2}, "98": None}
    assert run.data["environment"]["cpu_count"] == os.cpu_count()
    assert [r.run_id for r in store.list()] == [run_id]


def test_a_failed_write_leaves_the_previous_run_json_intact(store, monkeypatch):
    run_id = store.create(RunConfig())
    store.append_epoch(run_id, ENTRY)
    before = (store.get(run_id).path / "run.json").read_text()

    def exploding_dump(obj, f, **kw):
        f.write('{"half": ')  # a crash in the middle of writing
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(store_mod.json, "dump", exploding_dump)
    with pytest.raises(StoreError, match="No space left on device.*check that the disk has space"):
        store.append_epoch(run_id, {**ENTRY, "epoch": 2})
    monkeypatch.undo()
    path = store.get(run_id).path
    assert (path / "run.json").read_text() == before
    assert not [p for p in path.iterdir() if p.name.endswith(".tmp")]


def test_read_only_store_gives_a_clear_error(tmp_path, monkeypatch):
    def read_only(self, *a, **k):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(store_mod.Path, "mkdir", read_only)
    with pytest.raises(StoreError, match="Read-only file system.*writable"):
        RunStore(tmp_path / "ro").create(RunConfig())


@pytest.mark.parametrize("content", [
    "", "{not json", '{"status": "finished"}', "[]", '{"status": "weird", "config": {}}',
    json.dumps({"status": "finished", "config": {"hidden": [300, 100]}, "history": [{"epoch": 1}]}),
    json.dumps({"status": "finished", "config": {"epochs": 99999}}),
    json.dumps({"status": "finished", "config": {}, "name": ["x"]}),
    "\xff\xfe garbage",
])
def test_corrupt_runs_are_skipped_with_a_warning(store, content):
    good = store.create(RunConfig())
    bad = store.user_dir / "20260101-000000-bad-run-abcdef"
    bad.mkdir()
    (bad / "run.json").write_bytes(content.encode("utf-8", "surrogateescape") if content else b"")
    warnings = []
    assert [r.run_id for r in store.list(warnings)] == [good]
    assert len(warnings) == 1 and str(bad) in warnings[0]
    with pytest.raises(StoreError, match="unreadable run.json"):
        store.get(bad.name)


def test_symlink_out_of_the_store_is_not_followed(store, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    store.user_dir.mkdir(parents=True)
    link = store.user_dir / "20260101-000000-link-abcdef"
    link.symlink_to(outside, target_is_directory=True)
    warnings = []
    assert store.list(warnings) == [] and "symbolic link" in warnings[0]
    with pytest.raises(StoreError):
        store.delete(link.name)
    assert (outside / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("run_id", ["../etc", "..", "/etc/passwd", "a/b", "", "x" * 500, None])
def test_run_ids_are_never_paths(store, run_id):
    with pytest.raises(StoreError, match="is not a run id"):
        store.get(run_id)
    with pytest.raises(StoreError):
        store.delete(run_id)


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b\\c", "<script>alert(1)</script>", "ünï ☃"])
def test_names_are_data_not_paths(store, name):
    run_id = store.create(RunConfig())
    store.rename(run_id, name)
    assert store.get(run_id).display_name == name
    assert sorted(p.name for p in store.user_dir.iterdir()) == [run_id]


@pytest.mark.parametrize("name, fragment", [("x" * 10_000, "at most 100 characters"),
                                            ("line\nbreak", "control characters"),
                                            ("nul\x00", "control characters")])
def test_bad_names_are_refused_with_one_sentence(store, name, fragment):
    run_id = store.create(RunConfig())
    with pytest.raises(StoreError, match=fragment):
        store.rename(run_id, name)
    assert store.get(run_id).data["name"] is None


def test_tags(store):
    run_id = store.create(RunConfig())
    store.set_tags(run_id, " demo, class 3 ,demo,, ")
    assert store.get(run_id).data["tags"] == ["demo", "class 3"]
    with pytest.raises(StoreError, match="at most 40"):
        store.set_tags(run_id, ["t" * 41])
    with pytest.raises(StoreError, match="at most 20 tags"):
        store.set_tags(run_id, [str(i) for i in range(21)])


def test_reference_runs_are_read_only(tmp_path):
    shipped = RunStore(tmp_path / "reference")  # written by the project, then shipped
    ref_id = shipped.create(RunConfig())
    shipped.update(ref_id, status="finished")
    store = RunStore(tmp_path / "user", tmp_path / "reference")
    assert store.get(ref_id).reference
    for action in (lambda: store.rename(ref_id, "x"), lambda: store.delete(ref_id),
                   lambda: store.set_tags(ref_id, "x")):
        with pytest.raises(StoreError, match="ships with the project and is read-only"):
            action()
    assert store.get(ref_id).data["name"] is None


def test_delete_removes_only_the_run(store):
    keep, drop = store.create(RunConfig()), store.create(RunConfig(seed=1))
    store.update(drop, status="finished")
    store.delete(drop)
    assert [r.run_id for r in store.list()] == [keep]


def test_a_running_run_of_a_live_process_cannot_be_deleted(store):
    run_id = store.create(RunConfig())
    store.update(run_id, status="running")
    with pytest.raises(StoreError, match="still running"):
        store.delete(run_id)


def test_runs_of_a_dead_process_become_interrupted_keeping_their_epochs(store):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    orphan = store.create(RunConfig())
    store.append_epoch(orphan, ENTRY)
    store.append_epoch(orphan, {**ENTRY, "epoch": 2})
    store.update(orphan, status="running", owner={**store_mod.owner_token(), "pid": int(dead)})
    mine = store.create(RunConfig(seed=2))
    store.update(mine, status="running")  # owned by this live process
    assert store.mark_interrupted() == [orphan]
    run = store.get(orphan)
    assert run.status == "interrupted" and len(run.history) == 2 and "after 2 epochs" in run.data["reason"]
    assert store.get(mine).status == "running"


def test_listing_is_cached_until_a_run_changes(store):
    run_id = store.create(RunConfig())
    first = store.list()[0].data
    assert store.list()[0].data is first  # unchanged file: parsed once
    store.rename(run_id, "new")
    assert store.list()[0].data["name"] == "new"


def test_a_record_is_checked_once_per_version_whichever_store_reads_it(tmp_path, monkeypatch):
    """Every session reads through its own view of the store: an unchanged run.json must not be parsed and
    checked again for each (200 runs cost ~0.4 s of CPU), but a changed one must be, before it is used."""
    first = RunStore(tmp_path / "user", tmp_path / "reference")
    ids = [stored_run(first, RunConfig(seed=s), [0.9, 0.95]).run_id for s in range(3)]
    checked = []
    real_check = store_mod.record.check
    monkeypatch.setattr(store_mod.record, "check", lambda data: (checked.append(data.get("run_id")), real_check(data)))
    first.list()
    another = RunStore(tmp_path / "user", tmp_path / "reference")  # a second session, another page
    assert len(another.list()) == 3 and another.get(ids[0]).history
    assert checked == []  # unchanged: read from the process's checked records
    first.rename(ids[1], "changed")  # the write checks what it stores; the next read checks the new file
    checked.clear()
    runs = {r.run_id: r for r in another.list()}
    assert checked == [ids[1]] and runs[ids[1]].data["name"] == "changed"
    path = runs[ids[2]].path / store_mod.RUN_FILE
    path.write_text(path.read_text().replace('"status": "finished"', '"status": "done"'))  # edited by hand
    assert {r.run_id for r in another.list()} == {ids[0], ids[1]}  # checked again, and skipped


def test_links_planted_in_a_run_folder_are_never_followed(tmp_path):
    store = RunStore(tmp_path / "user", None)
    run = stored_run(store, RunConfig(epochs=1), [0.9])
    outside = tmp_path / "outside"
    outside.mkdir()
    (run.path / ".lock").unlink(missing_ok=True)
    (run.path / ".lock").symlink_to(outside / "created-by-the-store")
    with pytest.raises(StoreError, match="Could not lock"):
        store.rename(run.run_id, "renamed")
    assert not (outside / "created-by-the-store").exists()  # nothing was created outside the store
    (run.path / ".lock").unlink()

    secret = outside / "run.json"  # a run.json that is a link to a file elsewhere is not read
    secret.write_text((run.path / "run.json").read_text())
    (run.path / "run.json").unlink()
    (run.path / "run.json").symlink_to(secret)
    warnings = []
    assert store.list(warnings) == [] and "unreadable" in warnings[0]


def test_limits_of_names_and_tags_are_inclusive(store):
    run_id = store.create(RunConfig())
    store.rename(run_id, "n" * 100)
    store.set_tags(run_id, ["t" * 40] + [f"x{i}" for i in range(19)])
    run = store.get(run_id)
    assert run.display_name == "n" * 100 and len(run.data["tags"]) == 20
    store.rename(run_id, "   ")  # a blank name is no name: the label shows instead
    assert store.get(run_id).data["name"] is None and store.get(run_id).display_name == "300-100 relu sgd"
    with pytest.raises(StoreError, match="control characters"):
        store.set_tags(run_id, ["ok", "tab\there"])
    with pytest.raises(StoreError, match="must be text"):
        store.rename(run_id, 42)


def test_listing_is_newest_first_and_finds_runs_by_exact_settings(store):
    old, new, mid = store.create(RunConfig(epochs=5)), store.create(RunConfig(epochs=5, seed=1)), \
        store.create(RunConfig(epochs=6))
    for run_id, month in ((old, 1), (new, 3), (mid, 2)):
        store.update(run_id, created=f"2026-0{month}-01T00:00:00+00:00")
    assert [r.run_id for r in store.list()] == [new, mid, old]
    store.update(old, status="finished")
    assert [r.run_id for r in store.find_settings(RunConfig(epochs=5))] == [old]
    again = store.create(RunConfig(epochs=5))  # same settings, still queued
    assert [r.run_id for r in store.find_settings(RunConfig(epochs=5), statuses=("queued",))] == [again]
    assert store.find_settings(RunConfig(epochs=7)) == []


def test_a_run_left_running_by_a_dead_process_can_be_deleted(store):
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    run_id = store.create(RunConfig())
    store.update(run_id, status="running", owner={**store_mod.owner_token(), "pid": dead})
    store.delete(run_id)
    assert store.list() == []
    with pytest.raises(StoreError, match="There is no run"):
        store.get(run_id)


def test_the_record_says_where_and_with_what_it_was_trained(store):
    run = store.get(store.create(RunConfig(pca_variance=0.9)))
    env = run.data["environment"]
    assert env["python"] == sys.version.split()[0] and env["host"] and env["machine"] and env["platform"]
    assert run.data["param_count"] is None  # known only after PCA has chosen its components
    assert run.data["schema"] >= 1 and run.data["run_id"] == run.run_id and run.data["status"] == "queued"
    assert run.data["milestones"] == {"97": None, "98": None} and run.data["history"] == []


def test_a_run_json_with_nan_is_skipped_saying_what_is_wrong(store):
    good = store.create(RunConfig())
    bad = store.user_dir / "20260101-000000-nan-run-abcdef"
    bad.mkdir()
    (bad / "run.json").write_text('{"status": "finished", "config": {}, "best_test_accuracy": NaN}')
    warnings = []
    assert [r.run_id for r in store.list(warnings)] == [good]
    assert "NaN is not a JSON number" in warnings[0]


def test_only_runs_left_active_by_a_dead_process_are_marked_and_each_says_how_far_it_got(store, caplog):
    import datetime as dt
    import logging

    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout)
    gone = {**store_mod.owner_token(), "pid": dead}

    def left(status, epochs, seed):
        run_id = store.create(RunConfig(seed=seed))
        for e in range(1, epochs + 1):
            store.append_epoch(run_id, {**ENTRY, "epoch": e})
        store.update(run_id, status=status, owner=gone)
        return run_id

    one, none, finished, locked = left("running", 1, 1), left("queued", 0, 2), left("finished", 2, 3), left("running", 2, 4)
    (store.get(locked).path / ".lock").unlink(missing_ok=True)
    (store.get(locked).path / ".lock").symlink_to(store.user_dir / "elsewhere")  # update refuses: a warning
    before = dt.datetime.now().astimezone() - dt.timedelta(seconds=5)
    with caplog.at_level(logging.INFO, logger=store_mod.log.name):
        assert sorted(store.mark_interrupted()) == sorted([one, none])
    assert store.get(one).data["reason"] == "the process training it ended after 1 epoch"
    assert store.get(none).data["reason"] == "the process training it ended after 0 epochs"
    for run_id in (one, none):
        run = store.get(run_id)
        assert run.status == "interrupted" and dt.datetime.fromisoformat(run.data["ended"]) >= before
    assert store.get(finished).status == "finished" and store.get(finished).data["ended"] is None
    assert store.get(locked).status == "running"
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert f"Run {one} was left running by a process that has ended; stored as interrupted with its 1 epoch." in infos
    assert f"Run {none} was left queued by a process that has ended; stored as interrupted with its 0 epochs." in infos
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"Could not lock {store.get(locked).path}")
    assert not (store.user_dir / "elsewhere").exists()


def test_shipped_runs_left_running_are_never_touched(tmp_path, caplog):
    import logging
    import shutil

    maker = RunStore(tmp_path / "made", None)
    run_id = maker.create(RunConfig())
    maker.update(run_id, status="running", owner={**store_mod.owner_token(), "pid": 2**22 + 7})
    shutil.copytree(maker.user_dir / run_id, tmp_path / "reference" / run_id)
    store = RunStore(tmp_path / "user", tmp_path / "reference")
    with caplog.at_level(logging.INFO, logger=store_mod.log.name):
        assert store.mark_interrupted() == []
    assert store.get(run_id).status == "running" and store.get(run_id).reference
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []  # not even tried


def test_run_names_are_refused_with_the_sentence_that_says_why():
    with pytest.raises(StoreError) as e:
        store_mod.clean_name(3)
    assert str(e.value) == "A run name must be text."
    with pytest.raises(StoreError) as e:
        store_mod.clean_name("a\tb")
    assert str(e.value) == "A run name may not contain control characters such as newlines or tabs."
    with pytest.raises(StoreError) as e:
        store_mod.clean_name("x" * (store_mod.MAX_NAME + 1))
    assert str(e.value) == f"A run name may have at most {store_mod.MAX_NAME} characters; this one has 101."
    assert store_mod.clean_name("  " + "x" * store_mod.MAX_NAME + " ") == "x" * store_mod.MAX_NAME
    assert store_mod.clean_name("   ") is None


def test_asking_whether_a_trainer_lives_does_not_signal_it():
    """owner_alive only asks the kernel (signal 0): a live trainer, here a child that any real signal
    would end, keeps running; pid 1, which always lives, counts as alive when its start time matches."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        token = {"pid": child.pid, "host": store_mod.socket.gethostname(), "start": store_mod._process_start(child.pid)}
        assert store_mod.owner_alive(token)
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=0.5)  # still running: it was not sent a hangup
    finally:
        child.kill()
        child.wait()
    init = {"pid": 1, "host": store_mod.socket.gethostname(), "start": store_mod._process_start(1)}
    assert store_mod.owner_alive(init)


def test_a_deleted_run_leaves_nothing_in_the_listing_cache(store):
    """A class server deletes many runs: the cache of parsed run.json files must not keep them."""
    run_id = store.create(RunConfig(), status="finished")
    path = store.get(run_id).path / "run.json"
    store.list()
    assert path in store_mod._records
    store.delete(run_id)
    assert path not in store_mod._records
