"""A process-wide queue of training jobs: first come, first served, a bounded number at a time.

A web page must never train inside its own script run: the page would freeze and a refresh would
lose the run. Pages submit a RunConfig here and read the job's state. Each queue thread hands its
jobs to a long-lived worker process of its own (see ``worker.py``), which trains and streams
events back, so the server process never imports TensorFlow.
Every job has a run folder from the moment it is queued, so nothing is lost if the process dies:
the next start marks it ``interrupted``.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .config import RunConfig
from .store import RunStore, StoreError
from .worker import WorkerProcess

log = logging.getLogger(__name__)
CONCURRENCY_ENV = "MNIST_MAX_TRAININGS"
WORKER_LIMIT_ENV = "MNIST_WORKER_MAX_MB"
KEEP_FINISHED = 200  # finished jobs remembered in memory (their runs stay in the store regardless)


def default_worker_limit() -> float:
    """MB of resident memory past which a training worker is replaced between jobs. A fresh worker
    (TensorFlow, MNIST, the compiled warm-up) holds about 1,000 MB here; each run's compiled
    functions add a little, so without a limit a server that trains all day grows without end."""
    env = os.environ.get(WORKER_LIMIT_ENV)
    try:
        return float(env) if env else 1200.0
    except ValueError:
        log.warning("%s=%r is not a number of MB; using the default", WORKER_LIMIT_ENV, env)
        return 1200.0


def default_concurrency() -> int:
    """One training per two cores: each training already uses every core for its matrix products."""
    env = os.environ.get(CONCURRENCY_ENV)
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            log.warning("%s=%r is not a whole number; using the default", CONCURRENCY_ENV, env)
    return max(1, (os.cpu_count() or 2) // 2)


@dataclass
class Job:
    run_id: str
    config: RunConfig
    state: str = "queued"  # queued -> running -> done
    status: str = "queued"  # the run's status; final once state is "done"
    reason: str | None = None
    progress: dict | None = None  # the latest progress event
    setup: dict | None = None
    history: list[dict] = field(default_factory=list)
    submitted: float = field(default_factory=time.time)
    stop: threading.Event = field(default_factory=threading.Event, repr=False)


Runner = Callable[..., object]  # the signature of runner.execute


class JobQueue:
    def __init__(self, store: RunStore, max_concurrent: int | None = None,
                 runner: Runner | None = None, data_path: str | None = None,
                 worker_limit_mb: float | None = None):
        """``runner`` trains one job in the calling thread (``runner.execute`` does it in-process;
        tests pass fakes); by default every queue thread drives a worker process of its own."""
        self.store = store
        self.max_concurrent = max_concurrent or default_concurrency()
        self.data_path = data_path
        self.worker_limit_mb = worker_limit_mb or default_worker_limit()
        self._runner = runner
        self._jobs: dict[str, Job] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._processes = [] if runner else [WorkerProcess(store) for _ in range(self.max_concurrent)]
        for p in self._processes:
            p.start()  # warm: TensorFlow imports and MNIST loads before the first Train click
        self._workers = [threading.Thread(target=self._work, args=(i,), name=f"trainer-{i}", daemon=True)
                         for i in range(self.max_concurrent)]
        for w in self._workers:
            w.start()

    # --- what pages call ---------------------------------------------------------------------------
    def submit(self, config: RunConfig, name: str | None = None, tags: list[str] | None = None,
               group: str | None = None) -> Job:
        run_id = self.store.create(config, name=name, tags=tags, group=group)
        job = Job(run_id, config)
        with self._cond:
            self._jobs[run_id] = job
            self._queue.append(run_id)
            self._cond.notify()
        return job

    def get(self, run_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(run_id)

    def active(self) -> list[Job]:
        """Running jobs, then queued ones in their order."""
        with self._cond:
            running = [j for j in self._jobs.values() if j.state == "running"]
            return running + [self._jobs[r] for r in self._queue]

    def running_count(self) -> int:
        with self._cond:
            return sum(j.state == "running" for j in self._jobs.values())

    def position(self, run_id: str) -> int | None:
        """1 for the next job to start, 2 for the one after, ...; None if not waiting."""
        with self._cond:
            try:
                return self._queue.index(run_id) + 1
            except ValueError:
                return None

    def cancel(self, run_id: str) -> bool:
        """Stop a running job (keeping its finished epochs) or drop a queued one and its empty run."""
        with self._cond:
            job = self._jobs.get(run_id)
            if job is None or job.state == "done":
                return False
            job.stop.set()
            if run_id in self._queue:
                self._queue.remove(run_id)
                job.state, job.status, job.reason = "done", "stopped", "cancelled while queued"
                dropped = True
            else:
                dropped = False
        if dropped:
            try:
                self.store.update(run_id, status="stopped", reason="cancelled while queued")
                self.store.delete(run_id)
            except StoreError as e:
                log.warning("%s", e)
        return True

    def wait(self, run_id: str, timeout: float | None = None) -> Job | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while (job := self._jobs.get(run_id)) is not None and job.state != "done":
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cond.wait(left)
            return job

    def close(self) -> None:
        """Stop every job and the workers (used by tests and at shutdown)."""
        with self._cond:
            self._closed = True
            for job in self._jobs.values():
                job.stop.set()
            self._cond.notify_all()
        for w in self._workers:
            w.join(timeout=10)
        for p in self._processes:
            p.close()

    # --- the workers -------------------------------------------------------------------------------
    def _work(self, index: int) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._jobs[self._queue.popleft()]
                job.state = job.status = "running"
            self._run(job, self._runner or self._processes[index])
            if not self._runner and self._processes[index].recycle_if_over(self.worker_limit_mb):
                log.info("trainer %d recycled: it had grown past %.0f MB", index, self.worker_limit_mb)

    def _run(self, job: Job, runner: Runner) -> None:
        def on_event(event: dict) -> None:
            with self._cond:
                kind = event["event"]
                if kind == "progress":
                    job.progress = event
                elif kind == "setup":
                    job.setup = event
                elif kind == "epoch":
                    job.history.append(event)
                elif kind == "end":
                    job.status, job.reason = event["status"], event["reason"]

        try:
            runner(job.config, self.store, run_id=job.run_id, on_event=on_event, stop=job.stop,
                   data_path=self.data_path)
        except Exception as e:  # noqa: BLE001 - a crashing job must never take the queue down
            log.exception("job %s crashed", job.run_id)
            job.status, job.reason = "failed", f"{type(e).__name__}: {e}".splitlines()[0][:300]
        with self._cond:
            job.state = "done"
            if job.status in ("queued", "running"):
                job.status = "failed"
                job.reason = job.reason or "the trainer ended without saying how"
            self._forget_old()
            self._cond.notify_all()

    def _forget_old(self) -> None:
        done = [r for r, j in self._jobs.items() if j.state == "done"]
        for run_id in done[: max(0, len(done) - KEEP_FINISHED)]:
            del self._jobs[run_id]


_default: JobQueue | None = None
_default_lock = threading.Lock()


def default_queue() -> JobQueue:
    """The process's one queue, on the default store; created (and stale runs marked) on first use."""
    global _default
    with _default_lock:
        if _default is None:
            store = RunStore()
            store.mark_interrupted()
            _default = JobQueue(store)
        return _default
