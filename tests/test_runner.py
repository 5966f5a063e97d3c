import json

import pytest

from mnist_core.config import RunConfig
from mnist_core.runner import execute
from mnist_core.store import RunStore


@pytest.fixture
def quick(small_mnist, monkeypatch):
    monkeypatch.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
    return RunConfig(train_examples=2100, epochs=2, learning_rate=0.1)


def test_a_run_lands_in_the_store_with_everything(tmp_path, quick):
    events = []
    run = execute(quick, RunStore(tmp_path), on_event=events.append)
    d = run.data
    assert run.status == "finished" and len(run.history) == 2
    assert d["param_count"] == quick.param_count() and d["setup_seconds"] > 0 and d["compile_seconds"] > 0
    assert d["environment"]["tensorflow"] and d["environment"]["keras"]
    assert d["started"] and d["ended"] and run.model_path is not None
    assert events[-1]["event"] == "end" and events[-1]["status"] == "finished"
    assert all(e["run_id"] == run.run_id for e in events)


def test_the_saved_model_evaluates_like_the_last_epoch(tmp_path, quick, small_mnist):
    from mnist_core.evaluate import evaluate_model

    run = execute(quick.replace(pca=30), RunStore(tmp_path))
    result = evaluate_model(run.model_path, small_mnist)  # raw pixels in: the PCA is inside the model
    assert result["accuracy"] == pytest.approx(run.data["final_test_accuracy"], abs=1e-4)
    assert sum(map(sum, result["confusion"])) == len(small_mnist.y_test)


@pytest.mark.parametrize("errno_, text", [(28, "No space left on device"), (30, "Read-only file system")])
def test_a_write_failure_marks_the_run_failed_and_keeps_other_runs(tmp_path, quick, monkeypatch, errno_, text):
    import mnist_core.store as store_mod

    store = RunStore(tmp_path)
    earlier = execute(quick, store)
    earlier_json = (earlier.path / "run.json").read_text()
    real_fsync, fail = store_mod.os.fsync, []

    def failing_fsync(fd):  # the disk refuses one write: the one after epoch 1 was stored
        if fail and fail.pop():
            raise OSError(errno_, text)
        return real_fsync(fd)
    monkeypatch.setattr(store_mod.os, "fsync", failing_fsync)
    run = execute(quick.replace(seed=9), store,
                  on_event=lambda e: fail.append(True) if e["event"] == "epoch" and e["epoch"] == 1 else None)
    assert run.status == "failed"
    assert text in run.data["reason"] and "check that the disk has space" in run.data["reason"]
    assert len(run.history) == 1  # the epoch written before the failure is kept
    assert (earlier.path / "run.json").read_text() == earlier_json
    for r in store.list():
        json.loads((r.path / "run.json").read_text())
    assert not [p for p in run.path.iterdir() if p.name.endswith(".tmp")]


def test_an_exploding_loss_is_stored_as_diverged_with_advice_and_no_model(tmp_path, quick):
    # Issue 10: lr 10 with SGD reached a training loss of 3e13, never NaN, and was stored `finished`.
    run = execute(quick.replace(learning_rate=10.0, epochs=3), RunStore(tmp_path))
    assert run.status == "diverged" and len(run.history) == 1 and run.history[0]["train_loss"] > 1e3
    assert "the learning rate 10 is too high for sgd; try 1 or smaller" in run.data["reason"]
    assert run.model_path is None and run.data["ended"]  # a wrecked model is not offered for use


def test_missing_data_fails_with_the_data_message(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "nowhere"))
    run = execute(RunConfig(epochs=1), RunStore(tmp_path / "runs"))
    assert run.status == "failed" and "does not exist: point --data or MNIST_DATA" in run.data["reason"]


def test_a_crash_in_the_trainer_is_stored_as_failed(tmp_path, quick, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("simulated crash\nwith a second line")
    monkeypatch.setattr("mnist_core.train.train", boom)
    run = execute(quick, RunStore(tmp_path))
    assert run.status == "failed" and run.data["reason"] == "RuntimeError: simulated crash"


def test_early_stopping_stores_the_best_epochs_model(tmp_path, quick, small_mnist):
    from mnist_core.evaluate import evaluate_model

    # SGD at rate 1.0 on 1,400 examples: the validation loss soon stops falling (see test_train).
    run = execute(quick.replace(learning_rate=1.0, epochs=12, validation=700, patience=2), RunStore(tmp_path))
    best = run.data["best_epoch"]
    assert run.status == "finished" and len(run.history) == best + 2 < 12
    assert run.data["reason"].startswith("early stopping")
    stored = evaluate_model(run.model_path, small_mnist)["accuracy"]
    assert stored == pytest.approx(run.history[best - 1]["test_accuracy"], abs=1e-6)
    assert run.data["final_test_accuracy"] == run.history[best - 1]["test_accuracy"]
    assert all("val_loss" in h and "learning_rate" in h for h in run.history)
