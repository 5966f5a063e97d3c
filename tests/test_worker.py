"""The worker process protocol: training, stopping, tool requests, and dying mid-job."""

import os
import signal
import threading
import time

import pytest

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


def test_train_stop_and_tools(worker):
    quick = RunConfig(train_examples=2100, epochs=2, learning_rate=0.1, hidden=(64,))
    run, events = _train(worker, quick)
    assert run.status == "finished" and len(run.history) == 2 and run.model_path
    assert [e["event"] for e in events if e["event"] != "progress"] == ["setup", "epoch", "epoch", "end"]

    stop = threading.Event()
    run, _ = _train(worker, quick.replace(epochs=200, train_examples=20000),
                    stop, lambda e: e["event"] == "epoch" and stop.set())
    assert run.status == "stopped" and 1 <= len(run.history) <= 3

    reply = worker.request({"cmd": "predict", "run_id": run.run_id, "pixels": [0.0] * 784})
    assert len(reply["probabilities"]) == 10 and abs(sum(reply["probabilities"]) - 1) < 1e-4
    bad = worker.request({"cmd": "predict", "run_id": "../nope", "pixels": [0.0] * 784})
    assert "is not a run id" in bad["error"]
    found = worker.request({"cmd": "lr_find", "config": quick.to_dict()})
    assert found["suggestion"] > 0 and len(found["rates"]) == len(found["losses"])


def test_a_worker_that_dies_fails_its_run_and_is_replaced(worker):
    config = RunConfig(train_examples=20000, epochs=200)

    def kill_on_first_epoch(e):
        if e["event"] == "epoch":
            os.kill(worker.proc.pid, signal.SIGKILL)
    run, events = _train(worker, config, on_event=kill_on_first_epoch)
    assert run.status == "failed" and "ended unexpectedly" in run.data["reason"] and len(run.history) >= 1
    assert events[-1]["status"] == "failed"
    run, _ = _train(worker, RunConfig(train_examples=2100, epochs=1, hidden=(32,)))
    assert run.status == "finished"


def test_the_worker_exits_when_its_parent_goes(worker):
    worker.start()
    pid = worker.proc.pid
    worker.proc.stdin.close()  # what a killed server's pipe looks like from the worker's side
    deadline = time.monotonic() + 30
    while worker.proc.poll() is None:
        assert time.monotonic() < deadline, f"worker {pid} kept running"
        time.sleep(0.1)
