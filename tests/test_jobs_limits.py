"""The queue's limits as a server operator sets them: trainings at once (MNIST_MAX_TRAININGS), the
training worker's memory (MNIST_WORKER_MAX_MB), and how many finished jobs it remembers."""

import logging
import os
import threading
import time

import pytest

from mnist_core import jobs
from mnist_core.config import RunConfig
from mnist_core.jobs import JobQueue
from mnist_core.store import RunStore
from tests.helpers import FakeTrainer


class Held(FakeTrainer):
    """Counts how many run at once; each run waits for the gate."""

    def __init__(self):
        super().__init__()
        self.gate, self.lock, self.running, self.most = threading.Event(), threading.Lock(), 0, 0

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.gate.wait(10)
            super().__call__(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


@pytest.mark.parametrize("env, expected", [("3", 3), ("1", 1), ("0", 1), ("-2", 1), ("lots", None), ("", None)])
def test_max_trainings_from_the_environment(tmp_path, monkeypatch, caplog, env, expected):
    monkeypatch.setenv("MNIST_MAX_TRAININGS", env)
    default = max(1, (os.cpu_count() or 2) // 2)
    held = Held()
    with caplog.at_level(logging.WARNING):
        q = JobQueue(RunStore(tmp_path), runner=held)
    try:
        assert q.max_concurrent == (expected or default)
        assert ("not a whole number" in caplog.text) is (env == "lots")
    finally:
        held.gate.set()
        q.close()


def test_max_trainings_bounds_what_runs_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_MAX_TRAININGS", "2")
    held = Held()
    q = JobQueue(RunStore(tmp_path), runner=held)
    try:
        submitted = [q.submit(RunConfig(seed=i, epochs=1)) for i in range(5)]
        deadline = time.monotonic() + 10
        while q.running_count() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # a third would have started by now
        assert held.running == 2 and [q.position(j.run_id) for j in submitted] == [None, None, 1, 2, 3]
        held.gate.set()
        assert all(q.wait(j.run_id, timeout=10).status == "finished" for j in submitted)
        assert held.most == 2
    finally:
        held.gate.set()
        q.close()


@pytest.mark.parametrize("env, expected", [("500", 500.0), ("2048.5", 2048.5), ("", 1600.0), ("big", 1600.0)])
def test_worker_memory_limit_from_the_environment(tmp_path, monkeypatch, env, expected):
    monkeypatch.setenv("MNIST_WORKER_MAX_MB", env)
    assert jobs.default_worker_limit() == expected
    q = JobQueue(RunStore(tmp_path), max_concurrent=1, runner=FakeTrainer())
    try:
        assert q.worker_limit_mb == expected
    finally:
        q.close()


def test_old_finished_jobs_are_forgotten_but_their_runs_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "KEEP_FINISHED", 3)
    q = JobQueue(RunStore(tmp_path), max_concurrent=1, runner=FakeTrainer())
    try:
        done = []
        for i in range(5):
            job = q.submit(RunConfig(seed=i, epochs=1))
            done.append(q.wait(job.run_id, timeout=10).run_id)
        assert [q.get(r) is not None for r in done] == [False, False, True, True, True]
        assert sorted(r.run_id for r in q.store.list()) == sorted(done)  # the store keeps every run
    finally:
        q.close()
