"""Training on a Ray cluster: ``MNIST_BACKEND=ray`` for the app's queue, ``sweep --backend ray``.

A training runs as a Ray task taking one CPU slot on whichever node has one free. The task trains and
*streams its events back* (a Ray streaming generator): setup, progress, every epoch, snapshots, and
at the end the saved model as bytes. The run store is written here, on the driver's side, by the same
``runner.execute`` as a local training, so worker nodes need no shared disk and never touch the store.

What a worker node needs: the same Python, the ``cluster`` extra installed (TensorFlow, Ray, ...) and
MNIST (``MNIST_DATA`` set when its ``ray start`` ran, or the Keras cache). This project's own code
travels with the job (Ray's ``py_modules``), so the nodes always run the driver's version of it.

Stop: the driver tells a tiny actor (no CPU) that the run should stop; the task asks it twice a second
and stops its trainer after the current step, exactly as the Stop button does locally, so the run is
stored ``stopped`` with its finished epochs and model.
Failures: a task whose worker process or node dies, or a driver that loses the cluster, ends the run
``failed`` with one sentence saying so; the epochs that arrived are already stored. Ray does not
retry a training (``max_retries=0``): a retry would start the run over under the same id.

The driver connects to ``RAY_ADDRESS`` (Ray's own variable, e.g. ``10.0.0.1:6379`` of a cluster made
with ``ray start --head``), or, unset, starts a local Ray instance of ``MNIST_RAY_CPUS`` CPUs (all of
this machine's by default) that ends with the driver.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError, RunConfig
from .data import DataError
from .runner import TrainerLost, execute
from .store import StoreError

log = logging.getLogger(__name__)
BACKEND_ENV = "MNIST_BACKEND"
ADDRESS_ENV = "RAY_ADDRESS"  # Ray's own: ray.init reads it too
CPUS_ENV = "MNIST_RAY_CPUS"
BACKENDS = ("local", "ray")
STOP_POLL = 0.5  # seconds between a task's looks at the stop flags
LOCAL_ATTEMPTS = 2
START_SECONDS = 300.0  # a local instance's start, on a busy machine (see _patient_start)


def backend() -> str:
    """``local`` (worker processes on this machine, the default) or ``ray``, from ``MNIST_BACKEND``."""
    name = os.environ.get(BACKEND_ENV, "").strip().lower() or "local"
    if name not in BACKENDS:
        log.warning("%s=%r is not one of %s; training locally", BACKEND_ENV, name, ", ".join(BACKENDS))
        return "local"
    return name


def local_cpus() -> int | None:
    env = os.environ.get(CPUS_ENV)
    try:
        return max(1, int(env)) if env else None
    except ValueError:
        log.warning("%s=%r is not a whole number; using all CPUs", CPUS_ENV, env)
        return None


def connect(address: str | None = None, num_cpus: int | None = None) -> int:
    """Join the cluster at ``address`` (or ``RAY_ADDRESS``), or start a local one; returns its CPUs.
    Raises TrainerLost, one sentence, if there is no cluster there or Ray is not installed."""
    try:
        import ray
    except ImportError:
        raise TrainerLost("Ray is not installed: install the cluster extra (pip install 'mnist-explorer[cluster]') "
                          "or leave MNIST_BACKEND unset to train on this machine.") from None
    if not ray.is_initialized():
        address = address or os.environ.get(ADDRESS_ENV) or None
        package = str(Path(__file__).resolve().parent)
        runtime_env = {"py_modules": [package], "excludes": ["__pycache__", "reference_runs", "lesson_files"],
                       "env_vars": {"TF_CPP_MIN_LOG_LEVEL": "2"}}
        if address:
            try:
                _reachable(address)
                ray.init(address=address, runtime_env=runtime_env, logging_level=logging.WARNING)
            except Exception as e:  # noqa: BLE001 - ConnectionError, RuntimeError, ValueError, ... from Ray
                raise TrainerLost(f"Could not connect to the Ray cluster at {address} ({_short(e)}): check "
                                  f"{ADDRESS_ENV} and that `ray status` there answers.") from None
        else:
            for attempt in range(LOCAL_ATTEMPTS):
                try:
                    start_local(ray, num_cpus or local_cpus(), runtime_env=runtime_env)
                    break
                except Exception as e:  # noqa: BLE001 - Ray allows its raylet 30 s to start, which a busy
                    ray.shutdown()      # machine can miss: try again before giving up
                    if attempt == LOCAL_ATTEMPTS - 1:
                        raise TrainerLost(f"Could not start a local Ray instance ({_short(e)}): this machine may "
                                          f"be too busy; try again, or start one with `ray start --head` and "
                                          f"set {ADDRESS_ENV}.") from None
    return int(ray.cluster_resources().get("CPU", 0))


def start_local(ray, num_cpus: int | None, **kwargs) -> None:
    """``ray.init`` of a new local instance of our own (never a stranger's found on this machine),
    patient with a busy machine: Ray 2.60 gives a new node's agents about 20 s to start and its raylet
    30 s to register, which trainings hogging the cores can make it miss."""
    with _patient_start(ray):
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING,
                 _system_config={"agent_register_timeout_ms": int(START_SECONDS * 1000)}, **kwargs)


@contextlib.contextmanager
def _patient_start(ray, seconds: float = START_SECONDS):
    """Ray 2.60 gives a new local node's raylet 30 s to register (a constant inside ``Node``); on a
    machine busy with other trainings its Python agents can take longer to start. While a local
    instance starts, its "is the node there yet?" question keeps asking for up to ``seconds``."""
    services = getattr(getattr(ray, "_private", None), "services", None)
    ask = getattr(services, "get_node", None)
    if ask is None:  # another Ray: its own patience applies
        yield
        return

    def patient(*args, **kwargs):
        end = time.monotonic() + seconds
        while True:
            try:
                return ask(*args, **kwargs)
            except RuntimeError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.5)
    services.get_node = patient
    try:
        yield
    finally:
        services.get_node = ask


def _short(e: Exception) -> str:
    return " ".join(str(e).split())[:200]


def _reachable(address: str, timeout: float = 10.0) -> None:
    """Ray waits forever for a head that is not there; a plain TCP connection says so in seconds."""
    import re
    import socket

    m = re.fullmatch(r"(?:ray://)?\[?([\w.:-]+?)\]?:(\d+)", address.strip())
    if m is None:
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout).close()
    except OSError as e:
        raise ConnectionError(f"nothing answers at {address}: {e.strerror or e}") from None


class _Stops:
    """Run ids whose stop was asked for; a Ray actor that every task of this driver polls."""

    def __init__(self):
        self.ids: set[str] = set()

    def set(self, run_id: str) -> None:
        self.ids.add(run_id)

    def is_set(self, run_id: str) -> bool:
        return run_id in self.ids

    def forget(self, run_id: str) -> None:
        self.ids.discard(run_id)


_DONE = object()


def _train_task(config: dict, run_id: str, data_path: str | None, save_model: bool, stops):
    """The Ray task: train on this worker, yielding the trainer's events as they come, then a
    ``result`` event with the model's bytes. Runs in a Ray worker process, which Ray reuses for later
    tasks, so TensorFlow, MNIST and compiled loops stay warm between runs as in a local worker."""
    import socket

    import ray

    from .runner import model_bytes
    from .store import environment
    from .train import train

    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    box: dict = {}

    def work() -> None:
        try:
            box["result"] = train(RunConfig.from_dict(config), events.put, stop, data_path=data_path)
        except BaseException as e:  # noqa: BLE001 - re-raised below, in the task, for the driver
            box["error"] = e
        finally:
            events.put(_DONE)

    env = environment()
    env["ray_node"], env["ray_pid"] = ray.util.get_node_ip_address(), os.getpid()
    yield {"event": "environment", "environment": env, "pid": os.getpid(), "host": socket.gethostname()}
    threading.Thread(target=work, daemon=True, name=f"train-{run_id}").start()
    while True:
        try:
            event = events.get(timeout=STOP_POLL)
        except queue.Empty:
            event = None
        if not stop.is_set() and ray.get(stops.is_set.remote(run_id)):
            stop.set()
        if event is _DONE:
            break
        if event is not None and event["event"] != "end":  # the result below says how it ended
            yield event
    if "error" in box:
        raise box["error"]
    result = box["result"]
    blob = model_bytes(result) if save_model and result.model is not None and \
        result.status in ("finished", "stopped") else None
    result.release()  # the compiled loop may serve this worker's next run of the same shape
    yield {"event": "result", "status": result.status, "reason": result.reason, "best_epoch": result.best_epoch,
           "compile_seconds": result.compile_seconds, "analysis": result.analysis, "model_bytes": blob}


@dataclass
class RemoteResult:
    """What ``runner.execute`` needs of a training's result, sent home by a Ray task."""
    status: str
    reason: str | None
    best_epoch: int | None
    compile_seconds: float
    analysis: dict | None
    model_bytes: bytes | None
    model: None = None

    def release(self) -> None:
        pass  # the compiled loop stayed on the worker, released there


class RayTrainer:
    """Trains on the Ray cluster; called like ``runner.execute`` (the job queue's runner), from any
    number of threads at once. Connects on creation (see ``connect``)."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        import ray

        self.cpus = connect(address, num_cpus)
        self._ray = ray
        self._task = ray.remote(num_cpus=1, max_retries=0)(_train_task)
        self._stops = ray.remote(num_cpus=0)(_Stops).remote()

    def __call__(self, config: RunConfig, store, run_id: str, on_event=None, stop: threading.Event | None = None,
                 data_path: str | None = None, save_model: bool = True):
        def train_remote(config, handle, stop, data_path=None):
            return self._train(config, handle, stop or threading.Event(), data_path, run_id, save_model)
        return execute(config, store, run_id=run_id, on_event=on_event, stop=stop, data_path=data_path,
                       save_model=save_model, train_fn=train_remote)

    def _train(self, config: RunConfig, handle, stop: threading.Event, data_path, run_id: str,
               save_model: bool) -> RemoteResult:
        ray = self._ray
        done = threading.Event()

        def relay_stop() -> None:  # the Stop button, Ctrl-C or the time limit, passed on to the task
            while not done.is_set():
                if stop.wait(0.2):
                    self._stops.set.remote(run_id)
                    return
        threading.Thread(target=relay_stop, daemon=True, name=f"stop-{run_id}").start()
        where, epochs = "a Ray worker", 0
        try:
            for ref in self._task.remote(config.to_dict(), run_id, data_path, save_model, self._stops):
                event = ray.get(ref)
                if event["event"] == "result":
                    return RemoteResult(**{k: v for k, v in event.items() if k != "event"})
                if event["event"] == "environment":
                    where = f"the Ray worker on {event['host']} (pid {event['pid']})"
                epochs += event["event"] == "epoch"
                handle(event)
            raise TrainerLost(f"{where} ended without a result after {epochs} epoch{'s' * (epochs != 1)}.")
        except ray.exceptions.RayTaskError as e:  # the training raised: the same error as locally
            cause = e.cause if isinstance(e.cause, BaseException) else None
            if isinstance(cause, (ConfigError, DataError, StoreError)):
                raise type(cause)(f"On {where}: {cause}") from None
            raise TrainerLost(f"the training on {where} failed: {type(cause or e).__name__}: "
                              f"{str(cause or e).splitlines()[0][:200]}") from None
        except ray.exceptions.RayError as e:  # its worker or node died, or this driver lost the cluster
            raise TrainerLost(f"{where} was lost after {epochs} finished epoch{'s' * (epochs != 1)} "
                              f"({type(e).__name__}); the finished epochs are kept.") from None
        finally:
            done.set()
            try:
                self._stops.forget.remote(run_id)
            except Exception:  # noqa: BLE001 - the cluster is gone; nothing to forget there
                pass
