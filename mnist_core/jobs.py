"""A process-wide queue of training jobs, a bounded number at a time, serving browsers in turn.

A web page must never train inside its own script run: the page would freeze and a refresh would
lose the run. Pages submit a RunConfig here and read the job's state. Each queue thread hands its
jobs to a long-lived worker process of its own (see ``worker.py``), which trains and streams
events back, so the server process never imports TensorFlow.
Every job has a run folder from the moment it is queued, so nothing is lost if the process dies:
the next start marks it ``interrupted``.

On a class's server one student must not block everyone else (see ``limits`` and ``access``):
- a config over the teacher's limits, or one more run than a browser may have waiting, is refused
  before anything is queued;
- the queue serves owners in turn, not jobs: the next job is the oldest waiting job of the owner who
  was served least recently, so ten runs queued by one browser go in turn with everyone else's,
  and a newcomer's first run is next;
- a run past ``MNIST_MAX_RUN_SECONDS`` is stopped (its finished epochs kept) and stored ``stopped``
  with the reason;
- only a job's owner or the teacher may cancel or stop it.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from . import access, cluster
from .config import RunConfig
from .limits import LimitError, Limits, duration
from .store import RunStore, StoreError
from .worker import WorkerProcess

log = logging.getLogger(__name__)
CONCURRENCY_ENV = "MNIST_MAX_TRAININGS"
WORKER_LIMIT_ENV = "MNIST_WORKER_MAX_MB"
KEEP_FINISHED = 200  # finished jobs remembered in memory (their runs stay in the store regardless)


def default_worker_limit() -> float:
    """MB of resident memory past which a training worker is replaced between jobs. A fresh worker
    (TensorFlow, MNIST, the compiled warm-up) holds about 1,190 MB after its first short run here, and
    each new shape's compiled functions add some tens of MB (1,300 MB after four shapes), so without a
    limit a server that trains all day grows without end. The limit sits well above the fresh size:
    at 1,200 MB the worker was replaced, and warmed up again, after nearly every run."""
    env = os.environ.get(WORKER_LIMIT_ENV)
    try:
        return float(env) if env else 1600.0
    except ValueError:
        log.warning("%s=%r is not a number of MB; using the default", WORKER_LIMIT_ENV, env)
        return 1600.0


def default_concurrency(backend: str = "local") -> int:
    """Locally, one training per two cores: each training already uses every core for its matrix
    products. On Ray, one per CPU slot of the local instance (``MNIST_RAY_CPUS`` or every core); for a
    cluster of many machines set ``MNIST_MAX_TRAININGS`` to its CPU slots (what `ray status` lists)."""
    env = os.environ.get(CONCURRENCY_ENV)
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            log.warning("%s=%r is not a whole number; using the default", CONCURRENCY_ENV, env)
    if backend == "ray":
        return cluster.local_cpus() or os.cpu_count() or 2
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
    owner: str | None = None  # the hash of the submitting browser's token (access.owner_id)
    time_limit: float | None = None  # seconds it may train before it is stopped
    timed_out: bool = False


Runner = Callable[..., object]  # the signature of runner.execute


class JobQueue:
    def __init__(self, store: RunStore, max_concurrent: int | None = None,
                 runner: Runner | None = None, data_path: str | None = None,
                 worker_limit_mb: float | None = None, limits: Limits | None = None,
                 backend: str | None = None):
        """``runner`` trains one job in the calling thread (``runner.execute`` does it in-process;
        tests pass fakes); by default every queue thread drives a worker process of its own, or, with
        ``backend="ray"`` (default: ``MNIST_BACKEND``), all of them send their jobs to the Ray cluster
        through one bridge process (see ``cluster_bridge``).
        ``limits`` default to the environment's (``Limits.from_env``)."""
        self.store = store
        self.backend = "custom" if runner else (backend or cluster.backend())
        if self.backend == "ray":
            from .cluster_bridge import RayBridge

            runner = RayBridge(store)
            runner.start()  # connects while the page loads, before the first Train click
        self.max_concurrent = max_concurrent or default_concurrency(self.backend)
        self.data_path = data_path
        self.worker_limit_mb = worker_limit_mb or default_worker_limit()
        self.limits = limits if limits is not None else Limits.from_env()
        self._runner = runner
        self._jobs: dict[str, Job] = {}
        self._waiting: list[str] = []  # run ids in the order they were submitted
        self._served: dict[str | None, int] = {}  # owner -> the turn at which a job of theirs last started
        self._turn = 0
        self._order_cache: tuple[int, list[str]] | None = None
        self._version = 0  # bumped on every change to the waiting jobs, invalidating the cached order
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
    def admit(self, configs: list[RunConfig], by: access.Actor | None = None,
              pca_components: int | None = None) -> None:
        """Raise LimitError (one sentence) if ``by`` may not queue these runs now; the teacher and the
        operator (``by=None``) are not limited."""
        if by is None or by.teacher:
            return
        for config in configs:
            self.limits.check(config, pca_components)
        cap = self.limits.max_queued_per_user
        if cap is not None:
            with self._cond:
                waiting = sum(self._jobs[r].owner == by.owner for r in self._waiting)
            if waiting + len(configs) > cap:
                asked = "this run" if len(configs) == 1 else f"these {len(configs)} runs"
                raise LimitError(f"You have {waiting} run{'s' * (waiting != 1)} waiting and {asked} would make "
                                 f"{waiting + len(configs)}; this server allows {cap} waiting per browser: "
                                 f"wait for one to start, or cancel one.")

    def submit(self, config: RunConfig, name: str | None = None, tags: list[str] | None = None,
               group: str | None = None, by: access.Actor | None = None,
               pca_components: int | None = None) -> Job:
        """Queue ``config`` for ``by`` (a browser; None for the operator). Raises LimitError, before any
        run is created, if it is over a limit."""
        self.admit([config], by, pca_components)
        owner = by.owner if by is not None else None
        run_id = self.store.create(config, name=name, tags=tags, group=group, owned_by=owner)
        limited = by is not None and not by.teacher
        job = Job(run_id, config, owner=owner, time_limit=self.limits.max_run_seconds if limited else None)
        with self._cond:
            self._jobs[run_id] = job
            self._waiting.append(run_id)
            self._version += 1
            self._cond.notify()
        return job

    def get(self, run_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(run_id)

    def active(self) -> list[Job]:
        """Running jobs, then queued ones in the order they will start."""
        with self._cond:
            running = [j for j in self._jobs.values() if j.state == "running"]
            return running + [self._jobs[r] for r in self._order()]

    def running_count(self) -> int:
        with self._cond:
            return sum(j.state == "running" for j in self._jobs.values())

    def position(self, run_id: str) -> int | None:
        """1 for the next job to start, 2 for the one after, ...; None if not waiting."""
        with self._cond:
            try:
                return self._order().index(run_id) + 1
            except ValueError:
                return None

    def cancel(self, run_id: str, by: access.Actor | None = None) -> bool:
        """Stop a running job (keeping its finished epochs) or drop a queued one and its empty run.
        Raises access.NotAllowed unless ``by`` owns the job or is the teacher (None: the operator)."""
        with self._cond:
            job = self._jobs.get(run_id)
            if job is None or job.state == "done":
                return False
            access.require_change(by, job.owner, f"Run {run_id}")
            job.stop.set()
            if run_id in self._waiting:
                self._waiting.remove(run_id)
                self._version += 1
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
        if self.backend == "ray":
            self._runner.close()

    # --- the workers -------------------------------------------------------------------------------
    def _order(self) -> list[str]:
        """The waiting run ids in the order they will start (call with the lock held).

        Owners take turns: the next job is the oldest waiting job of the owner whose last job started
        longest ago (an owner never served goes first). Simulating the turns gives every job its place,
        so the positions the page shows are the order the workers follow."""
        if self._order_cache and self._order_cache[0] == self._version:
            return self._order_cache[1]
        per_owner: dict[str | None, collections.deque[str]] = {}
        for run_id in self._waiting:
            per_owner.setdefault(self._jobs[run_id].owner, collections.deque()).append(run_id)
        served = {owner: self._served.get(owner, -1) for owner in per_owner}
        first = {run_id: i for i, run_id in enumerate(self._waiting)}
        order, turn = [], self._turn
        while per_owner:
            owner = min(per_owner, key=lambda o: (served[o], first[per_owner[o][0]]))
            order.append(per_owner[owner].popleft())
            turn += 1
            served[owner] = turn
            if not per_owner[owner]:
                del per_owner[owner]
        self._order_cache = (self._version, order)
        return order

    def _work(self, index: int) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._jobs[self._order()[0]]
                self._waiting.remove(job.run_id)
                self._turn += 1
                self._served[job.owner] = self._turn
                self._version += 1
                job.state = job.status = "running"
            self._run(job, self._runner or self._processes[index])
            if not self._runner and self._processes[index].recycle_if_over(self.worker_limit_mb):
                log.info("trainer %d recycled: it had grown past %.0f MB", index, self.worker_limit_mb)

    def _run(self, job: Job, runner: Runner) -> None:
        def time_up() -> None:
            job.timed_out = True
            job.stop.set()  # the same path as the Stop button: the finished epochs are kept

        # The time limit counts from the run's first event (its set-up done: data, PCA, compiled model),
        # so a worker still warming up or loading data does not eat a student's time.
        timer = threading.Timer(job.time_limit or 0, time_up)
        timer.daemon = True

        def on_event(event: dict) -> None:
            if job.time_limit and not timer.is_alive() and not timer.finished.is_set():
                timer.start()
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
        finally:
            timer.cancel()
        if job.timed_out and job.status == "stopped":
            job.reason = f"this server's time limit of {duration(job.time_limit)} of training per run was reached"
            try:
                self.store.update(job.run_id, reason=job.reason)
            except StoreError as e:
                log.warning("%s", e)
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
_default_store: RunStore | None = None
_default_lock = threading.Lock()


def default_store() -> RunStore:
    """The process's run store (the default queue's, once there is one); created, and runs left active
    by a dead process marked interrupted, on first use. Reading runs this way starts no training
    worker: a page that only shows runs never wakes TensorFlow."""
    global _default_store
    with _default_lock:
        if _default is not None:
            return _default.store
        if _default_store is None:
            store = RunStore()
            store.mark_interrupted()
            _default_store = store
        return _default_store


def default_queue() -> JobQueue:
    """The process's one queue, on the default store; created on first use (which starts its worker
    processes: TensorFlow warms up there)."""
    global _default
    store = default_store()
    with _default_lock:
        if _default is None:
            _default = JobQueue(store)
        return _default


def queue_started() -> bool:
    """Whether this process's queue (and so its training workers) exists yet."""
    return _default is not None
