"""The app's link to a Ray cluster: one child process that is the Ray driver, spoken to in JSON lines.

Why not drive Ray from the web server itself? For the same reasons training runs in worker processes
(see ``worker.py``): the server stays light (no Ray, no TensorFlow in it), and Ray ends a driver that
loses its cluster for long, which must not take the web server down with it. Here only the bridge
dies; the runs it was following are stored ``failed`` with their finished epochs, and the next job
starts a new bridge, which connects again.

Protocol (plain JSON, several trainings at once, told apart by run id):
- parent -> bridge: ``{"cmd": "train", "run_id", "config", "data_path"}``, ``{"cmd": "stop", "run_id"}``;
- bridge -> parent: ``{"event": "ready", "cpus"}`` once connected, or ``{"event": "unavailable",
  "reason"}`` (then it exits); then every training's events, each with its ``run_id``, the last of a
  run being ``{"event": "end", ...}`` sent after the run is stored.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading

from .store import ACTIVE, RunStore, StoreError, now_iso
from .worker import protocol_emitter, spawn_child

_EOF = object()


class RayBridge:
    """The parent's handle; call it like ``runner.execute``, from several queue threads at once."""

    def __init__(self, store: RunStore):
        self.store = store
        self.proc: subprocess.Popen | None = None
        self.cpus: int | None = None
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[subprocess.Popen, queue.Queue]] = {}
        self._reader: threading.Thread | None = None
        self._failure: str | None = None  # why the bridge could not connect

    def start(self) -> None:
        with self._lock:
            if self.proc is not None and self.proc.poll() is None:
                return
            self._failure = None
            self.proc = spawn_child("mnist_core.cluster_bridge", self.store)
            self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True,
                                            name="ray-bridge-reader")
            self._reader.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "ready":
                self.cpus = event.get("cpus")
            elif event.get("event") == "unavailable":
                self._failure = event.get("reason")
            elif (run := self._runs.get(event.get("run_id"))) is not None:
                run[1].put(event)
        proc.wait()
        with self._lock:
            for p, q in self._runs.values():
                if p is proc:
                    q.put(_EOF)

    def _send(self, message: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError, AttributeError):
            pass  # the reader sees the process end

    def __call__(self, config, store, run_id, on_event, stop, data_path=None) -> None:
        self.start()
        lines: queue.Queue = queue.Queue()
        with self._lock:
            proc, reader = self.proc, self._reader
            self._runs[run_id] = (proc, lines)
        if not reader.is_alive():
            lines.put(_EOF)
        self._send({"cmd": "train", "run_id": run_id, "config": config.to_dict(), "data_path": data_path})
        stop_sent = False
        try:
            while True:
                if stop.is_set() and not stop_sent:
                    self._send({"cmd": "stop", "run_id": run_id})
                    stop_sent = True
                try:
                    event = lines.get(timeout=0.1)
                except queue.Empty:
                    continue
                if event is _EOF:
                    self._lost(proc, reader, run_id, on_event)
                    return
                on_event(event)
                if event.get("event") == "end":
                    return
        finally:
            with self._lock:
                self._runs.pop(run_id, None)

    def _lost(self, proc: subprocess.Popen, reader: threading.Thread, run_id: str, on_event) -> None:
        code = proc.wait()
        reader.join(timeout=5)  # it has read the bridge's last words (why it could not connect)
        reason = self._failure or f"the link to the Ray cluster ended unexpectedly (exit code {code})"
        try:
            if self.store.get(run_id).status in ACTIVE:
                self.store.update(run_id, status="failed", reason=reason, ended=now_iso())
        except StoreError:
            pass
        on_event({"event": "end", "run_id": run_id, "status": "failed", "reason": reason})

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()  # the bridge stops its runs' tasks and exits when its input closes
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --- the bridge process itself -------------------------------------------------------------------------
def main() -> None:
    emit = protocol_emitter()

    from . import logs
    from .cluster import RayTrainer
    from .config import RunConfig
    from .runner import TrainerLost

    logs.setup()
    try:
        trainer = RayTrainer()
    except TrainerLost as e:
        emit({"event": "unavailable", "reason": str(e)})
        os._exit(1)
    emit({"event": "ready", "cpus": trainer.cpus})

    store = RunStore()
    stops: dict[str, threading.Event] = {}
    threads: list[threading.Thread] = []
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("cmd") == "stop" and msg.get("run_id") in stops:
            stops[msg["run_id"]].set()
        elif msg.get("cmd") == "train":
            stop = stops[msg["run_id"]] = threading.Event()
            t = threading.Thread(target=_train, daemon=True, args=(trainer, emit), kwargs=dict(
                config=RunConfig.from_dict(msg["config"]), store=store, run_id=msg["run_id"], on_event=emit,
                stop=stop, data_path=msg.get("data_path")))
            t.start()
            threads.append(t)
    # Standard input closed: the server is gone or closing. Stop the runs, keeping their epochs.
    for stop in stops.values():
        stop.set()
    for t in threads:
        t.join(timeout=20)
    os._exit(0)


def _train(trainer, emit, **job) -> None:
    """One training; whatever happens, the parent hears how it ended (else its queue thread waits)."""
    try:
        trainer(**job)
    except Exception as e:  # noqa: BLE001 - execute stores failures itself; this is the store failing too
        emit({"event": "end", "run_id": job["run_id"], "status": "failed",
              "reason": f"{type(e).__name__}: {e}".splitlines()[0][:300]})


if __name__ == "__main__":
    main()
