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


def test_stop_a_running_job_keeps_its_epochs(tmp_path, small_mnist, monkeypatch):
    # The real trainer (in-process), not a fake: Stop must reach the training loop mid-epoch, and the
    # stored run must keep exactly the epochs that finished, with a model to try.
    from mnist_core.runner import execute

    monkeypatch.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
    q = JobQueue(RunStore(tmp_path), max_concurrent=1, runner=execute)
    try:
        job = q.submit(RunConfig(hidden=(256,), train_examples=2100, epochs=500, learning_rate=0.05))
        _wait_until(lambda: len(q.get(job.run_id).history) >= 1, timeout=600)  # a hang guard only
        assert q.cancel(job.run_id)
        done = q.wait(job.run_id, timeout=600)
        run = q.store.get(job.run_id)
        assert done.status == run.status == "stopped" and 1 <= len(run.history) < 500
        assert [h["epoch"] for h in run.history] == list(range(1, len(run.history) + 1))
        assert run.history == [{k: e[k] for k in run.history[0]} for e in done.history]
        assert run.model_path is not None and run.data["ended"]
    finally:
        q.close()


def test_a_crashing_job_is_failed_and_does_not_block_the_queue(queue):
    bad = queue.submit(RunConfig(seed=666, epochs=1))
    good = queue.submit(RunConfig(seed=1, epochs=1))
    queue.fake.release.release()
    assert queue.wait(bad.run_id, timeout=5).status == "failed"
    assert "the trainer crashed" in queue.get(bad.run_id).reason
    assert queue.wait(good.run_id, timeout=5).status == "finished"


def test_real_training_through_the_queue_with_a_worker_recycled_between_jobs(tmp_path, mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    # A 1 MB limit set as a server operator does: every worker is over it, so each job ends with a
    # fresh worker taking its place.
    monkeypatch.setenv("MNIST_WORKER_MAX_MB", "1")
    q = JobQueue(RunStore(tmp_path), max_concurrent=1)
    try:
        first_pid = q._processes[0].proc.pid
        job = q.submit(RunConfig(train_examples=2100, epochs=2, learning_rate=0.1))
        done = q.wait(job.run_id, timeout=600)
        assert done.status == "finished" and len(done.history) == 2 and done.setup["param_count"] > 0
        assert q.store.get(job.run_id).status == "finished"
        second = q.wait(q.submit(RunConfig(train_examples=1400, epochs=1, hidden=(16,))).run_id, timeout=600)
        assert second.status == "finished"
        assert q._processes[0].proc.pid != first_pid
    finally:
        q.close()


# --- fair use of one server: limits, turns, time limits, whose job it is -------------------------------
def _browser():
    from mnist_core import access

    return access.browser(access.new_token())


@pytest.fixture
def classroom(tmp_path, monkeypatch):
    """A class's server: a teacher password and limits, as the teacher would set them."""
    from mnist_core import access
    from mnist_core.limits import Limits

    monkeypatch.setenv(access.TEACHER_ENV, "teach")
    runner = FakeRunner()
    q = JobQueue(RunStore(tmp_path), max_concurrent=1, runner=runner,
                 limits=Limits(max_params=300_000, max_epochs=10, max_queued_per_user=3))
    q.fake = runner
    yield q
    q.close()


def test_a_config_over_a_limit_is_refused_before_anything_is_queued(classroom):
    from mnist_core.limits import LimitError

    student = _browser()
    with pytest.raises(LimitError, match=r"has 53,600,266 parameters, more than .* \(300,000\)") as e:
        classroom.submit(RunConfig(hidden=(4096, 4096, 4096, 4096), epochs=5), by=student)
    assert "\n" not in str(e.value)
    with pytest.raises(LimitError, match=r"60 epochs .*\(10\)"):
        classroom.submit(RunConfig(epochs=60), by=student)
    with pytest.raises(LimitError, match="parameters"):  # PCA by variance: counted on all 784 inputs
        classroom.submit(RunConfig(hidden=(400,), pca_variance=0.9, epochs=1), by=student)
    classroom.submit(RunConfig(hidden=(400,), pca_variance=0.9, epochs=1), by=student, pca_components=87)
    assert len(classroom.store.list()) == 1 and len(classroom.active()) == 1


def test_each_browser_may_have_only_so_many_runs_waiting(classroom):
    from mnist_core import access
    from mnist_core.limits import LimitError

    student = _browser()
    jobs = [classroom.submit(RunConfig(seed=i, epochs=1), by=student) for i in range(4)]  # 1 runs, 3 wait
    _wait_until(lambda: classroom.fake.started == [jobs[0].run_id])
    with pytest.raises(LimitError, match="3 runs waiting .* allows 3 waiting per browser"):
        classroom.submit(RunConfig(seed=9, epochs=1), by=student)
    with pytest.raises(LimitError, match="these 4 runs"):  # a seed group counts whole
        classroom.admit([RunConfig(seed=s, epochs=1) for s in range(4)], by=_browser())
    classroom.submit(RunConfig(seed=9, epochs=1), by=_browser())  # another browser still may
    token = access.new_token()
    teacher = access.browser(token, access.teacher_proof(token))
    classroom.submit(RunConfig(hidden=(4096, 4096), epochs=50), by=teacher)  # the teacher is not limited
    assert len(classroom.store.list()) == 6


def test_browsers_are_served_in_turn_and_the_shown_places_are_the_real_order(classroom):
    flood, bob, carol = _browser(), _browser(), _browser()
    classroom.limits = classroom.limits.__class__()  # no cap: this is about order
    flooding = [classroom.submit(RunConfig(seed=i, epochs=1), by=flood) for i in range(10)]
    _wait_until(lambda: len(classroom.fake.started) == 1)
    b = classroom.submit(RunConfig(seed=100, epochs=1), by=bob)
    c = classroom.submit(RunConfig(seed=101, epochs=1), by=carol)
    # The flood's first run is training; everyone else's first run is next, before the flood's second.
    assert classroom.position(b.run_id) == 1 and classroom.position(c.run_id) == 2
    assert classroom.position(flooding[1].run_id) == 3
    shown = [j.run_id for j in classroom.active()]
    assert shown[0] == flooding[0].run_id
    for _ in range(12):
        classroom.fake.release.release()
    for j in [*flooding, b, c]:
        assert classroom.wait(j.run_id, timeout=10).status == "finished"
    assert classroom.fake.started == shown


def test_turns_alternate_between_two_busy_browsers(classroom):
    alice, bob = _browser(), _browser()
    classroom.limits = classroom.limits.__class__()
    a = [classroom.submit(RunConfig(seed=i, epochs=1), by=alice) for i in range(3)]
    _wait_until(lambda: len(classroom.fake.started) == 1)
    b = [classroom.submit(RunConfig(seed=10 + i, epochs=1), by=bob) for i in range(3)]
    expected = [a[0], b[0], a[1], b[1], a[2], b[2]]
    assert [j.run_id for j in classroom.active()] == [j.run_id for j in expected]
    for _ in range(6):
        classroom.fake.release.release()
    for j in expected:
        classroom.wait(j.run_id, timeout=10)
    assert classroom.fake.started == [j.run_id for j in expected]


def test_a_run_past_the_time_limit_is_stopped_and_stored_with_the_reason(tmp_path):
    from mnist_core.limits import Limits

    runner = FakeRunner()
    q = JobQueue(RunStore(tmp_path), max_concurrent=1, runner=runner, limits=Limits(max_run_seconds=0.3))
    try:
        runner.release.release()  # one epoch finishes; the second never would
        job = q.submit(RunConfig(epochs=5), by=_browser())
        done = q.wait(job.run_id, timeout=10)
        assert done.status == "stopped" and "time limit of 0.3 s" in done.reason
        run = q.store.get(job.run_id)
        assert run.status == "stopped" and len(run.history) == 1
        assert run.data["reason"] == done.reason
        quick = q.submit(RunConfig(epochs=1), by=_browser())  # a run within the limit is untouched
        runner.release.release()
        assert q.wait(quick.run_id, timeout=10).status == "finished"
    finally:
        q.close()


def test_only_the_owner_or_the_teacher_may_cancel_or_stop_a_job(classroom):
    from mnist_core import access

    alice, bob = _browser(), _browser()
    running = classroom.submit(RunConfig(epochs=2), by=alice)
    waiting = classroom.submit(RunConfig(epochs=1, seed=1), by=alice)
    _wait_until(lambda: classroom.fake.started == [running.run_id])
    for run_id in (running.run_id, waiting.run_id):
        with pytest.raises(access.NotAllowed):
            classroom.cancel(run_id, by=bob)
    assert classroom.get(running.run_id).state == "running" and classroom.position(waiting.run_id) == 1
    assert classroom.cancel(waiting.run_id, by=alice)
    token = access.new_token()
    assert classroom.cancel(running.run_id, by=access.browser(token, access.teacher_proof(token)))
    assert classroom.wait(running.run_id, timeout=5).status == "stopped"
