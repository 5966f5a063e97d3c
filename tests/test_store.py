import json
import os
import subprocess
import sys

import pytest

from mnist_core import owner
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
    monkeypatch.setattr(json, "dump", exploding_dump)
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
    store.update(orphan, status="running", owner={**owner.owner_token(), "pid": int(dead)})
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
    store.update(run_id, status="running", owner={**owner.owner_token(), "pid": dead})
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
    gone = {**owner.owner_token(), "pid": dead}

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
    maker.update(run_id, status="running", owner={**owner.owner_token(), "pid": 2**22 + 7})
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


def test_a_deleted_run_leaves_nothing_in_the_listing_cache(store):
    """A class server deletes many runs: the cache of parsed run.json files must not keep them."""
    run_id = store.create(RunConfig(), status="finished")
    path = store.get(run_id).path / "run.json"
    store.list()
    assert path in store_mod._records
    store.delete(run_id)
    assert path not in store_mod._records


# --- closing what the second mutation pass found (2026-12-04) ----------------------------------------------
def test_the_record_names_the_tensorflow_and_keras_it_was_trained_with(monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "tensorflow", types.SimpleNamespace(__version__="9.8.7"))
    monkeypatch.setitem(sys.modules, "keras", types.SimpleNamespace())  # a build without a version
    env = store_mod.environment()
    assert (env["tensorflow"], env["keras"]) == ("9.8.7", None)


def test_a_run_deleted_behind_the_stores_back_leaves_the_listing_cache(store):
    import shutil

    keep, gone = store.create(RunConfig()), store.create(RunConfig(seed=1))
    store.list()
    path = store.get(gone).path / "run.json"
    assert path in store_mod._records
    shutil.rmtree(path.parent)  # a teacher cleaning the folder by hand
    assert [r.run_id for r in store.list()] == [keep]
    assert path not in store_mod._records and store.get(keep).path / "run.json" in store_mod._records


def test_each_skipped_folder_says_exactly_why_and_files_and_hidden_folders_are_not_runs(store, tmp_path, caplog):
    import logging

    store.create(RunConfig())
    user = store.user_dir
    (user / "notes.txt").write_text("a teacher's notes")
    (user / ".trash").mkdir()
    (user / ".calibration.json").write_text("{}")
    (user / "my-runs").mkdir()
    empty = user / "20260101-000000-empty-abcdef"
    empty.mkdir()
    (tmp_path / "elsewhere").mkdir()
    link = user / "20260101-000000-link-abcdef"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    warnings = []
    with caplog.at_level(logging.WARNING, logger=store_mod.log.name):
        assert len(store.list(warnings)) == 1
    assert sorted(warnings) == sorted([
        f"Skipped {user / 'my-runs'}: its folder name is not a run id.",
        f"Skipped {empty}: it has no run.json.",
        f"Skipped {link}: it is a symbolic link, which the store never follows.",
    ])
    assert sorted(r.getMessage() for r in caplog.records) == sorted(warnings)


def test_a_long_reason_is_cut_to_its_start(store, monkeypatch):
    from mnist_core.record import RecordError

    run_id = store.create(RunConfig())
    monkeypatch.setattr(store_mod, "_records", {})

    def shape(path):
        raise RecordError("s" * 300)

    monkeypatch.setattr(store_mod, "read_record", shape)
    warnings = []
    store.list(warnings)
    folder = store.user_dir / run_id
    assert warnings == [f"Skipped {folder}: its run.json does not have the expected shape ({'s' * 160})."]

    def unreadable(path):
        raise ValueError("v" * 300)

    monkeypatch.setattr(store_mod, "read_record", unreadable)
    warnings = []
    store.list(warnings)
    assert warnings == [f"Skipped {folder}: its run.json is unreadable ({'v' * 120})."]
    sentence = f"Run {run_id} has an unreadable run.json ({'v' * 120})."
    for action in (lambda: store.get(run_id), lambda: store.update(run_id, status="finished")):
        with pytest.raises(StoreError) as e:
            action()
        assert str(e.value) == sentence
    with pytest.raises(StoreError) as e:
        store.get("x" * 500)
    assert str(e.value) == f"{'x' * 80!r} is not a run id."


def test_listing_follows_the_creation_time_not_the_run_id_and_a_run_without_one_is_oldest(store):
    ids = sorted(store.create(RunConfig(seed=s)) for s in range(3))
    for run_id, day in zip(ids, (3, 2, 1)):  # the largest id the oldest
        store.update(run_id, created=f"2026-01-0{day}T00:00:00+00:00")
    assert [r.run_id for r in store.list()] == ids
    store.update(ids[0], change=lambda d: d.pop("created"))
    assert [r.run_id for r in store.list()] == [ids[1], ids[2], ids[0]]


def test_the_final_accuracy_is_the_best_epochs_under_early_stopping_else_the_last(store):
    run_id = store.create(RunConfig())
    for epoch, acc in enumerate((0.90, 0.97, 0.95), 1):
        store.append_epoch(run_id, {**ENTRY, "epoch": epoch, "test_accuracy": acc, "train_seconds": 0.6 * epoch})
    finals = {best: store.update(run_id, best_epoch=best)["final_test_accuracy"] for best in (1, 2, 3, None, 9)}
    assert finals == {1: 0.90, 2: 0.97, 3: 0.95, None: 0.95, 9: 0.95}
    data = store.update(run_id)
    assert data["seconds_per_epoch"] == pytest.approx(0.6)


def test_every_write_stamps_the_time_it_was_made(store):
    import datetime as dt

    run_id = store.create(RunConfig())
    data = store.update(run_id, updated="2000-01-01T00:00:00+00:00")
    written = dt.datetime.fromisoformat(data["updated"])
    assert abs((dt.datetime.now(dt.timezone.utc) - written).total_seconds()) < 60
    assert store.get(run_id).data["updated"] == data["updated"]


def test_a_record_without_a_history_is_updated_as_no_epochs(store):
    run_id = store.create(RunConfig())
    data = store.update(run_id, change=lambda d: d.pop("history"))
    assert data["milestones"] == {"97": None, "98": None}
    assert (data["best_test_accuracy"], data["final_test_accuracy"], data["seconds_per_epoch"]) == (None, None, None)


def test_a_new_record_holds_every_field_the_pages_read(store):
    config = RunConfig(hidden=[64])
    data = store.get(store.create(config, group="notebook-abc")).data
    assert data["group"] == "notebook-abc" and data["settings_hash"] == config.settings_hash()
    assert data["param_count"] == config.param_count() == 784 * 64 + 64 + 64 * 10 + 10
    assert data["created"] and data["updated"]
    for key in ("reason", "started", "ended", "pca", "setup_seconds", "compile_seconds"):
        assert key in data and data[key] is None
    with pytest.raises(StoreError) as e:
        store.create(config, owned_by="bob")
    assert str(e.value) == "A run's owner must be an owner id (access.owner_id), not a token or a name."


def test_a_run_id_holds_its_label_cut_to_64_characters(tmp_path):
    store = RunStore(tmp_path / "a" / "b" / "user", None)  # folders made as needed
    config = RunConfig(hidden=[4096] * 4, activation="elu", batch_norm=True, optimizer="nesterov", dropout=0.2,
                       l2=1e-4, schedule="cosine", learning_rate=0.003, batch_size=128, train_examples=1000)
    run_id = store.create(config)
    slug = run_id[len("20260101-000000-"):-len("-abcdef")]
    assert len(slug) == 64 and "4096-4096-4096-4096-elu-bn-nesterov" in slug


def test_a_run_that_cannot_be_written_leaves_no_half_made_folder(store, monkeypatch):
    store.user_dir.mkdir(parents=True)

    def no_space(path, data):
        raise StoreError("Could not write it (No space left on device): check that the disk has space.")

    monkeypatch.setattr(store_mod, "write_json_atomic", no_space)
    with pytest.raises(StoreError, match="No space left"):
        store.create(RunConfig())
    assert list(store.user_dir.iterdir()) == []
    monkeypatch.undo()

    def refused(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", refused)
    with pytest.raises(StoreError) as e:
        store.create(RunConfig())
    assert "(No space left on device): check that the disk has space and" in str(e.value)
    assert list(store.user_dir.iterdir()) == []


def test_tags_skip_empty_ones_and_say_exactly_what_is_wrong():
    assert store_mod.clean_tags("a,, ,b") == ["a", "b"]
    with pytest.raises(StoreError) as e:
        store_mod.clean_tags(["t" * 41])
    assert str(e.value) == f"A tag may have at most 40 characters; {'t' * 20!r}... has 41."
    with pytest.raises(StoreError) as e:
        store_mod.clean_tags(["a\tb"])
    assert str(e.value) == "A tag may not contain control characters such as newlines or tabs."


def test_the_folders_come_from_the_environment_or_the_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv(store_mod.RUNS_ENV, str(tmp_path / "mine"))
    monkeypatch.delenv(store_mod.REFERENCE_ENV, raising=False)
    default = RunStore()
    assert default.user_dir == (tmp_path / "mine").resolve()
    assert default.reference_dir == store_mod.DEFAULT_REFERENCE_DIR.resolve()
    monkeypatch.setenv(store_mod.REFERENCE_ENV, str(tmp_path / "shipped"))
    assert RunStore().reference_dir == (tmp_path / "shipped").resolve()
    monkeypatch.setenv(store_mod.REFERENCE_ENV, "")  # none
    assert RunStore().reference_dir is None
    monkeypatch.delenv(store_mod.RUNS_ENV)
    assert RunStore().user_dir == store_mod.DEFAULT_USER_DIR.resolve()


def test_a_run_json_that_is_a_dangling_link_is_unreadable_not_missing(store, tmp_path):
    store.create(RunConfig())
    bad = store.user_dir / "20260101-000000-dangling-abcdef"
    bad.mkdir()
    (bad / "run.json").symlink_to(tmp_path / "nowhere.json")
    warnings = []
    store.list(warnings)
    assert len(warnings) == 1 and warnings[0].startswith(f"Skipped {bad}: its run.json is unreadable (")


def test_a_run_id_already_taken_is_drawn_again_ten_times_at_most(store, monkeypatch):
    import datetime as dt

    class Frozen(dt.datetime):  # every run made in the same second
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 1, 1, tzinfo=tz)

    drawn = []

    def token(n):  # the second run first draws the first one's id; after that every draw is taken
        drawn.append(n)
        return "bbbbbb" if len(drawn) == 3 else "aaaaaa"

    monkeypatch.setattr(store_mod.dt, "datetime", Frozen)
    monkeypatch.setattr(store_mod.secrets, "token_hex", token)
    first, second = store.create(RunConfig()), store.create(RunConfig())
    assert (first[-6:], second[-6:]) == ("aaaaaa", "bbbbbb") and len(drawn) == 3
    with pytest.raises(StoreError) as e:
        store.create(RunConfig())
    assert str(e.value) == "Could not find a free run id; try again." and len(drawn) == 3 + 10
    assert sorted(p.name for p in store.user_dir.iterdir()) == sorted([first, second])
