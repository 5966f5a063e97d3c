"""The worker process protocol: training, stopping, tool requests, and dying mid-job."""

import os
import signal
import threading
import time

import numpy as np
import pytest

from mnist_core import estimate
from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from mnist_core.worker import WorkerProcess


@pytest.fixture
def worker(tmp_path, mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    w = WorkerProcess(RunStore(tmp_path / "user", None))
    yield w
    w.close()


def _train(worker, config, stop=None, on_event=None):
    store = worker.store
    run_id = store.create(config)
    events = []
    worker(config, store, run_id, lambda e: (events.append(e), on_event and on_event(e)), stop or threading.Event())
    return store.get(run_id), events


def test_train_stop_and_tools(worker, monkeypatch):
    monkeypatch.setenv("MNIST_WORKER_WARM_UP", "1")  # as a server's worker does (the other tests skip it)
    quick = RunConfig(train_examples=2100, epochs=2, learning_rate=0.1, hidden=(64,))
    run, events = _train(worker, quick)
    assert run.status == "finished" and len(run.history) == 2 and run.model_path
    assert [e["event"] for e in events if e["event"] not in ("progress", "snapshot")] == ["setup", "epoch", "epoch", "end"]
    # Warming up, the worker timed this machine for the Train page's estimate.
    calibration = estimate.load_calibration(worker.store.user_dir)
    assert calibration is not None and calibration.speed > 0

    stop = threading.Event()
    run, _ = _train(worker, quick.replace(epochs=200, train_examples=20000),
                    stop, lambda e: e["event"] == "epoch" and stop.set())
    assert run.status == "stopped" and 1 <= len(run.history) <= 3

    reply = worker.request({"cmd": "predict", "run_id": run.run_id, "pixels": [0.0] * 784})
    assert len(reply["probabilities"]) == 10 and abs(sum(reply["probabilities"]) - 1) < 1e-4
    bad = worker.request({"cmd": "predict", "run_id": "../nope", "pixels": [0.0] * 784})
    assert "is not a run id" in bad["error"]
    traced = worker.request({"cmd": "trace", "run_id": run.run_id, "pixels": [0.0] * 784, "probe": [[0.5] * 784] * 3})
    assert [len(layer["values"]) for layer in traced["layers"]] == [64, 10] and len(traced["saliency"]) == 784
    assert len(traced["probe_probabilities"]) == 3 and np.allclose(traced["probabilities"], reply["probabilities"], atol=1e-4)
    for hostile, why in (([float("nan")] * 784, "finite numbers"), ([0.0] * 785, "784 pixels per image")):
        assert why in worker.request({"cmd": "trace", "run_id": run.run_id, "pixels": hostile})["error"]
    too_many = worker.request({"cmd": "trace", "run_id": run.run_id, "pixels": [0.0] * 784, "probe": [[0.0] * 784] * 81})
    assert "at most 80 images" in too_many["error"]
    found = worker.request({"cmd": "lr_find", "config": quick.to_dict()})
    assert found["suggestion"] > 0 and len(found["rates"]) == len(found["losses"])


def test_a_worker_that_dies_fails_its_run_and_is_replaced(worker, tmp_path, monkeypatch):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # the workers' temp folder
    config = RunConfig(train_examples=20000, epochs=200)

    def kill_on_first_epoch(e):
        if e["event"] == "epoch":
            os.kill(worker.proc.pid, signal.SIGKILL)
    run, events = _train(worker, config, on_event=kill_on_first_epoch)
    assert run.status == "failed" and "ended unexpectedly" in run.data["reason"] and len(run.history) >= 1
    assert events[-1]["status"] == "failed"
    run, _ = _train(worker, RunConfig(train_examples=2100, epochs=1, hidden=(32,)))
    assert run.status == "finished"
    # TensorFlow's autograph files: the killed worker could not clean up, its replacement removed the
    # folder it left, and removed its own when it exited (with os._exit, which skips atexit).
    worker.close()
    assert list(tmp.iterdir()) == []


def test_the_worker_exits_when_its_parent_goes(worker):
    worker.start()
    pid = worker.proc.pid
    worker.proc.stdin.close()  # what a killed server's pipe looks like from the worker's side
    deadline = time.monotonic() + 30
    while worker.proc.poll() is None:
        assert time.monotonic() < deadline, f"worker {pid} kept running"
        time.sleep(0.1)


def test_a_train_command_is_never_dropped(worker):
    # The parent sends the next job as soon as the last one says "end", while the worker's job thread
    # may still be returning. Sending two jobs back to back makes that overlap certain: both must run.
    # (A dropped job once left a classroom's queue waiting forever behind it.)
    store = worker.store
    config = RunConfig(train_examples=1400, epochs=1, hidden=(16,))
    ids = [store.create(config), store.create(config.replace(seed=1))]
    worker.start()
    for run_id in ids:
        worker._send({"cmd": "train", "run_id": run_id, "config": config.to_dict(), "data_path": None})
    ends, deadline = [], time.monotonic() + 60
    while len(ends) < 2:
        assert time.monotonic() < deadline, f"only {len(ends)} of 2 jobs ended"
        try:
            event = worker.lines.get(timeout=1)
        except Exception:
            continue
        if event.get("event") == "end":
            ends.append(event["run_id"])
    assert ends == ids and all(store.get(r).status == "finished" for r in ids)


def test_a_silent_worker_is_restarted_and_its_run_failed(worker, monkeypatch):
    import mnist_core.worker as worker_mod

    monkeypatch.setattr(worker_mod, "SILENCE_LIMIT", 3.0)
    worker.start()
    worker.ready.wait(120)
    os.kill(worker.proc.pid, signal.SIGSTOP)  # alive but answering nothing: a hung worker
    run, events = _train(worker, RunConfig(train_examples=1400, epochs=1, hidden=(16,)))
    assert run.status == "failed" and "gave no news for 3 s" in run.data["reason"]
    assert events[-1]["event"] == "end"
    monkeypatch.setattr(worker_mod, "SILENCE_LIMIT", 300.0)
    run, _ = _train(worker, RunConfig(train_examples=1400, epochs=1, hidden=(16,)))
    assert run.status == "finished"  # the next job gets a fresh worker


def test_an_idle_tool_worker_is_stopped_and_restarts_on_the_next_request(worker):
    assert worker.request({"cmd": "predict", "run_id": "../nope", "pixels": [0.0] * 784})["error"]
    first = worker.proc
    assert not worker.close_if_idle(600)  # used just now: kept
    assert worker.close_if_idle(0) and first.poll() is not None  # idle: stopped, its memory given back
    reply = worker.request({"cmd": "predict", "run_id": "../nope", "pixels": [0.0] * 784})
    assert "is not a run id" in reply["error"] and worker.proc.pid != first.pid
