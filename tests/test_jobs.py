"""The job queue with a fake trainer: ordering, bounds, cancel and crashes are not about learning."""

import threading
import time

import pytest

from mnist_core.config import RunConfig
from mnist_core.jobs import JobQueue
from mnist_core.store import RunStore


class FakeRunner:
    """Trains nothing: each epoch waits until released, then reports a made-up history entry."""

    def __init__(self):
        self.started: list[str] = []
        self.release = threading.Semaphore(0)
        self.running = 0
        self.max_running = 0
        self.lock = threading.Lock()

    def __call__(self, config, store, run_id, on_event, stop, data_path=None):
        with self.lock:
            self.started.append(run_id)
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            if config.seed == 666:
                raise RuntimeError("the trainer crashed")
            store.update(run_id, status="running")
            for epoch in range(1, config.epochs + 1):
                while not self.release.acquire(timeout=0.01):
                    if stop.is_set():
                        store.update(run_id, status="stopped")
                        on_event({"event": "end", "status": "stopped", "reason": "stopped"})
                        return
                entry = {"epoch": epoch, "train_loss": 1.0, "train_accuracy": 0.5, "test_loss": 1.0,
                         "test_accuracy": 0.5, "train_seconds": epoch, "wall_seconds": epoch}
                store.append_epoch(run_id, entry)
                on_event({"event": "epoch", **entry})
            store.update(run_id, status="finished")
            on_event({"event": "end", "status": "finished", "reason": None})
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def queue(tmp_path):
    runner = FakeRunner()
    q = JobQueue(RunStore(tmp_path), max_concurrent=2, runner=runner)
    q.fake = runner
    yield q
    q.close()


def _wait_until(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_first_come_first_served_with_a_bounded_number_running(queue):
    jobs = [queue.submit(RunConfig(seed=i, epochs=1)) for i in range(5)]
    _wait_until(lambda: len(queue.fake.started) == 2)
    time.sleep(0.1)
    assert queue.fake.started == [jobs[0].run_id, jobs[1].run_id]
    assert [queue.position(j.run_id) for j in jobs] == [None, None, 1, 2, 3]
    assert [j.run_id for j in queue.active()] == [j.run_id for j in jobs]
    for _ in range(5):
        queue.fake.release.release()
    for j in jobs:
        assert queue.wait(j.run_id, timeout=5).status == "finished"
    assert queue.fake.started == [j.run_id for j in jobs] and queue.fake.max_running == 2
    assert all(queue.store.get(j.run_id).status == "finished" for j in jobs)


def test_every_queued_job_has_a_stored_run_at_once(queue):
    job = queue.submit(RunConfig(epochs=3), name="lesson 1")
    run = queue.store.get(job.run_id)
    assert run.display_name == "lesson 1" and run.status in ("queued", "running")


def test_cancel_a_queued_job_removes_it_and_its_empty_run(queue):
    jobs = [queue.submit(RunConfig(seed=i, epochs=1)) for i in range(3)]
    _wait_until(lambda: len(queue.fake.started) == 2)
    assert queue.cancel(jobs[2].run_id)
    assert queue.get(jobs[2].run_id).status == "stopped" and queue.position(jobs[2].run_id) is None
    assert jobs[2].run_id not in [r.run_id for r in queue.store.list()]
    for _ in range(2):
        queue.fake.release.release()
    for j in jobs[:2]:
        queue.wait(j.run_id, timeout=5)
    assert jobs[2].run_id not in queue.fake.started


def test_stop_a_running_job_keeps_its_epochs(queue):
    job = queue.submit(RunConfig(epochs=5))
    queue.fake.release.release()
    _wait_until(lambda: len(queue.get(job.run_id).history) == 1)
    assert queue.cancel(job.run_id)
    assert queue.wait(job.run_id, timeout=5).status == "stopped"
    run = queue.store.get(job.run_id)
    assert run.status == "stopped" and len(run.history) == 1


def test_a_crashing_job_is_failed_and_does_not_block_the_queue(queue):
    bad = queue.submit(RunConfig(seed=666, epochs=1))
    good = queue.submit(RunConfig(seed=1, epochs=1))
    queue.fake.release.release()
    assert queue.wait(bad.run_id, timeout=5).status == "failed"
    assert "the trainer crashed" in queue.get(bad.run_id).reason
    assert queue.wait(good.run_id, timeout=5).status == "finished"


def test_real_training_through_the_queue_with_a_worker_recycled_between_jobs(tmp_path, mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    # A 1 MB limit: every worker is over it, so each job ends with a fresh worker taking its place.
    q = JobQueue(RunStore(tmp_path), max_concurrent=1, worker_limit_mb=1)
    try:
        first_pid = q._processes[0].proc.pid
        job = q.submit(RunConfig(train_examples=2100, epochs=2, learning_rate=0.1))
        done = q.wait(job.run_id, timeout=120)
        assert done.status == "finished" and len(done.history) == 2 and done.setup["param_count"] > 0
        assert q.store.get(job.run_id).status == "finished"
        second = q.wait(q.submit(RunConfig(train_examples=1400, epochs=1, hidden=(16,))).run_id, timeout=120)
        assert second.status == "finished"
        assert q._processes[0].proc.pid != first_pid
    finally:
        q.close()
