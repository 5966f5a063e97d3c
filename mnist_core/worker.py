"""Training in a separate, long-lived process, driven with JSON lines over pipes.

Why a process and not a thread of the web server? The server stays light and responsive (no
TensorFlow in it, no fight for Python's GIL), a crash or a runaway run cannot take it down, and
Streamlit resets Keras' global state after every script run when Keras is imported in its process,
which would slow a training thread there tenfold.

Protocol (one JSON object per line; plain data, never pickle):
- parent -> worker: ``{"cmd": "train", "run_id", "config", "data_path"}`` and ``{"cmd": "stop"}``;
- worker -> parent: ``{"event": "ready"}`` once TensorFlow is imported and MNIST loaded, then the
  trainer's events for each job (see ``runner.execute``), the last being ``{"event": "end", ...}``.
- tool requests, answered in order with one ``{"event": "reply", ...}`` each (or ``"error"``):
  ``{"cmd": "predict", "run_id", "pixels": [784 floats]}`` -> ``"probabilities"``;
  ``{"cmd": "trace", "run_id", "pixels": [784 floats], "probe": [[784 floats], ...]}`` -> ``trace.trace``'s
  activations, saliency and top units, and ``"probe_probabilities"`` for the probe's images;
  ``{"cmd": "lr_find", "config", "data_path"}`` -> the range test's ``rates``, ``losses``, ...
When its standard input closes (the server exited or was killed), the worker exits at once; a run it
was training stays ``running`` with a dead owner, and the next start marks it ``interrupted``.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from .store import ACTIVE, RunStore, StoreError, now_iso

_EOF = object()
SILENCE_LIMIT = 300.0  # seconds without any event from a training worker before it is presumed hung


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB, from /proc (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0.0


def spawn_child(module: str, store: RunStore) -> subprocess.Popen:
    """Start ``python -m module`` serving ``store``: this project on its path, JSON lines on its stdin and
    stdout (its stderr is the parent's)."""
    env = {**os.environ, "MNIST_RUNS_DIR": str(store.user_dir), "MNIST_REFERENCE_RUNS": str(store.reference_dir or "")}
    project = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [project, env.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, bufsize=1, env=env)


class WorkerProcess:
    """The parent's handle on one worker process; call it like ``runner.execute``."""

    def __init__(self, store: RunStore):
        self.store = store
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()
        self.ready = threading.Event()
        self._request_lock = threading.Lock()
        self.last_used = time.monotonic()

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        self.proc = spawn_child("mnist_core.worker", self.store)
        self.lines = queue.Queue()
        self.ready.clear()
        threading.Thread(target=self._read, args=(self.proc, self.lines), daemon=True,
                         name=f"worker-{self.proc.pid}-reader").start()

    def _read(self, proc: subprocess.Popen, lines: queue.Queue) -> None:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not ours: protocol lines are JSON
            if event.get("event") == "ready":
                self.ready.set()
            else:
                lines.put(event)
        lines.put(_EOF)

    def _send(self, message: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the reader will see the process end

    def __call__(self, config, store, run_id, on_event, stop, data_path=None) -> None:
        self.start()
        self._send({"cmd": "train", "run_id": run_id, "config": config.to_dict(), "data_path": data_path})
        stop_sent = False
        heard = time.monotonic()
        while True:
            if stop.is_set() and not stop_sent:
                self._send({"cmd": "stop"})
                stop_sent = True
            try:
                event = self.lines.get(timeout=0.05)
            except queue.Empty:
                if time.monotonic() - heard > SILENCE_LIMIT:  # a hung worker must not hold up the queue
                    self.proc.kill()
                    self._died(run_id, on_event, f"the training process gave no news for {SILENCE_LIMIT:.0f} s "
                                                 f"and was restarted")
                    return
                continue
            heard = time.monotonic()
            if event is _EOF:
                self._died(run_id, on_event)
                return
            on_event(event)
            if event.get("event") == "end":
                return

    def _died(self, run_id: str, on_event, reason: str | None = None) -> None:
        code = self.proc.wait()
        reason = reason or f"the training process ended unexpectedly (exit code {code})"
        try:
            if self.store.get(run_id).status in ACTIVE:
                self.store.update(run_id, status="failed", reason=reason, ended=now_iso())
        except StoreError:
            pass
        self.proc = None
        on_event({"event": "end", "run_id": run_id, "status": "failed", "reason": reason})

    def request(self, message: dict, timeout: float = 300.0) -> dict:
        """Send a tool request and wait for its reply (tool workers only; one request at a time)."""
        with self._request_lock:
            self.last_used = time.monotonic()
            self.start()
            self._send(message)
            try:
                reply = self.lines.get(timeout=timeout)
            except queue.Empty:
                return {"event": "reply", "error": f"no answer within {timeout:.0f} s"}
            if reply is _EOF:
                self.proc = None
                return {"event": "reply", "error": "the model process ended unexpectedly; try again"}
            self.last_used = time.monotonic()
            return reply

    def close_if_idle(self, seconds: float) -> bool:
        """Stop a tool worker nobody has asked anything for ``seconds`` (it holds ~1 GB); the next
        request starts a fresh one."""
        if not self._request_lock.acquire(blocking=False):
            return False  # a request is being answered
        try:
            if self.proc is None or self.proc.poll() is not None or time.monotonic() - self.last_used < seconds:
                return False
            self.close()
            self.proc = None
            return True
        finally:
            self._request_lock.release()

    def rss_mb(self) -> float:
        """The worker's resident memory in MB (0 if it is not running)."""
        return 0.0 if self.proc is None else rss_mb(self.proc.pid)

    def recycle_if_over(self, limit_mb: float) -> bool:
        """Between jobs: replace a worker that has grown past ``limit_mb`` with a fresh one. Every run
        compiles new functions, and TensorFlow keeps some of each; a server that trains all day would
        otherwise creep up in memory. The new worker warms up at once, before the next job needs it."""
        if self.rss_mb() <= limit_mb:
            return False
        self.close()
        self.proc = None
        self.start()
        return True

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()  # the worker exits when its input closes
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --- the worker process itself --------------------------------------------------------------------------
def protocol_emitter():
    """The function a child process sends its JSON event lines with, from any thread. Protocol lines go to
    a private copy of stdout; anything a library prints from now on goes to stderr."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    lock = threading.Lock()

    def emit(event: dict) -> None:
        with lock:
            out.write(json.dumps(event) + "\n")
    return emit


# "0" skips the warm-up below: the worker is ready as soon as TensorFlow is imported, and its first
# run pays the start-up instead. The tests set it, as most of them start a worker and train a tiny net.
WARM_UP_ENV = "MNIST_WORKER_WARM_UP"


def main() -> None:
    emit = protocol_emitter()

    from . import data, logs
    from .config import RunConfig
    from .runner import execute  # imports TensorFlow: done once, before the first job

    logs.setup()  # its standard error is the server's: the core's messages join the server's log

    store = RunStore()
    if os.environ.get(WARM_UP_ENV, "1") != "0":
        _warm_up(data, store)
    emit({"event": "ready", "pid": os.getpid()})

    stop = threading.Event()
    job: threading.Thread | None = None
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("cmd") == "stop":
            stop.set()
        elif msg.get("cmd") in TOOLS:
            try:
                emit({"event": "reply", **TOOLS[msg["cmd"]](msg, store)})
            except Exception as e:  # noqa: BLE001 - a bad request must not end the worker
                emit({"event": "reply", "error": _one_line(e)})
        elif msg.get("cmd") == "train":
            # The parent sends the next job once the last one said "end"; that thread may still be
            # returning, so wait for it rather than drop the job (a lost job hangs the whole queue).
            if job is not None:
                job.join()
            stop.clear()
            job = threading.Thread(target=execute, kwargs=dict(
                config=RunConfig.from_dict(msg["config"]), store=store, run_id=msg["run_id"],
                on_event=emit, stop=stop, data_path=msg.get("data_path")), daemon=True)
            job.start()
    # Standard input closed: the server is gone. Leave now; the run's last epoch is already stored.
    from .tf_env import remove_private_tempdir

    remove_private_tempdir()  # os._exit skips atexit, which would remove it
    os._exit(0)


def _warm_up(data, store: RunStore) -> None:
    """Load MNIST and train the Train page's default network for a few steps, so the first real run
    pays neither TensorFlow's and XLA's one-time start-up nor the default network's compilation
    (its compiled loop is released for the next run of that shape to reuse). Then time that network's
    steps, and a small network's, for the Train page's estimate (estimate.calibrate, about a second)."""
    import numpy as np

    from . import estimate
    from .config import RunConfig
    from .train import train

    try:
        ds = data.load("mnist")
    except data.DataError:  # reported by the run that needs it; warm up TensorFlow alone
        rng = np.random.default_rng(0)
        ds = data.Dataset("warm-up", "random", rng.random((140, 784), np.float32),
                          rng.integers(0, 10, 140, np.int32), rng.random((20, 784), np.float32),
                          rng.integers(0, 10, 20, np.int32))
    train(RunConfig(epochs=1, train_examples=min(1000, len(ds.y_train))), dataset=ds).release()
    if len(ds.y_train) >= estimate.CALIBRATION_STEPS * 70:  # not on the random stand-in
        try:
            estimate.save_calibration(store.user_dir, *estimate.calibrate(ds))
        except StoreError:
            pass  # the estimate falls back to stored runs; training itself reports a bad folder


def _one_line(e: Exception) -> str:
    from .config import ConfigError
    from .data import DataError
    from .trace import TraceError

    if isinstance(e, (ConfigError, DataError, StoreError, TraceError)):
        return str(e)
    return f"{type(e).__name__}: {e}".splitlines()[0][:300]


_models: dict = {}


def _model(store: RunStore, run_id: str):
    """The run's saved model, loaded once (the last one asked for stays in memory)."""
    from .model import load_model

    run = store.get(run_id)
    if run.model_path is None:
        raise StoreError(f"Run {run.run_id} has no saved model; pick a run trained in this app or the CLI.")
    key = (str(run.model_path), run.model_path.stat().st_mtime_ns)
    if key not in _models:
        _models.clear()  # keep one model in memory
        _models[key] = load_model(run.model_path)
    return _models[key]


def _predict(msg: dict, store: RunStore) -> dict:
    from .evaluate import predict_proba
    from .trace import check_pixels

    pixels = check_pixels(msg.get("pixels"), max_images=1)
    return {"probabilities": predict_proba(_model(store, msg["run_id"]), pixels)[0].tolist()}


def _trace(msg: dict, store: RunStore) -> dict:
    from .evaluate import predict_proba
    from .trace import MAX_IMAGES, check_pixels, trace

    model = _model(store, msg["run_id"])
    out = trace(model, check_pixels(msg.get("pixels"), max_images=1))
    if msg.get("probe"):
        probe = check_pixels(msg["probe"], max_images=MAX_IMAGES - 1)
        out["probe_probabilities"] = predict_proba(model, probe).round(5).tolist()
    return out


def _lr_find(msg: dict, store: RunStore) -> dict:
    from . import data
    from .config import RunConfig
    from .lr_find import lr_range_test

    config = RunConfig.from_dict(msg["config"])
    return lr_range_test(config, data.load(config.dataset, msg.get("data_path")))


TOOLS = {"predict": _predict, "trace": _trace, "lr_find": _lr_find}


if __name__ == "__main__":
    main()
