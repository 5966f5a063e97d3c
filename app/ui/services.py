"""What every page shares, once per server process: the job queue (and its run store) and the
datasets. TensorFlow is never imported here: training happens in the queue's worker processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from mnist_core import data, jobs
from mnist_core.store import RunStore

_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="loader")
_datasets: dict[str, Future] = {}
_lock = threading.Lock()


def queue() -> jobs.JobQueue:
    """The server's one queue; creating it starts the worker processes (TensorFlow warms up there)."""
    return jobs.default_queue()


def store() -> RunStore:
    """The server's run store (the queue's). Getting it does not start the training workers, so a page
    that only shows runs (Compare, Class, Study, ...) does not share the machine with TensorFlow's
    warm-up while it is drawn; see ``warm_up_soon``."""
    return jobs.default_store()


WARM_UP_DELAY = 3.0  # seconds after a page that does not train was drawn
_warming = threading.Event()


def warm_up_soon() -> None:
    """Start the queue's workers a few seconds after a page that does not train has run, so that
    TensorFlow is warm before the first Train click but does not compete with this page's drawing in
    the browser (two cores: its import and first compilation would take one of them). A page that
    trains starts them at once through ``queue()``."""
    if jobs.queue_started() or _warming.is_set():
        return
    _warming.set()
    timer = threading.Timer(WARM_UP_DELAY, queue)
    timer.daemon = True
    timer.name = "warm-up"
    timer.start()


def dataset_state(name: str) -> tuple[str, str | None]:
    """("ready", where it is), ("download", None) when only Keras' download is left, or
    ("missing", a one-sentence reason). Cheap: it looks for files without reading them, but a file
    this process already failed to read (wrong dtype, truncated, ...) is "missing" with that reason."""
    try:
        found = data.find_source(name)
    except data.DataError as e:
        return "missing", str(e)
    failed = _datasets.get(name)
    if found and failed is not None and failed.done() and isinstance(failed.exception(), data.DataError):
        return "missing", str(failed.exception())
    return ("ready", str(found)) if found else ("download", None)


def dataset(name: str) -> data.Dataset:
    """The dataset itself, loaded once per process in the background (numpy only). Raises DataError,
    one sentence, when its files cannot be used; a later call tries again (the files may be fixed)."""
    with _lock:
        if name not in _datasets or (_datasets[name].done() and _datasets[name].exception()):
            _datasets[name] = _executor.submit(data.load, name)
        fut = _datasets[name]
    return fut.result()


def dataset_if_loaded(name: str) -> data.Dataset | None:
    """The dataset if this process has it in memory, else None without waiting (its loading is started, so a
    later call may have it): for extras a page can draw without, such as a mask of blank pixels."""
    if dataset_state(name)[0] != "ready":
        return None
    with _lock:
        if name not in _datasets or (_datasets[name].done() and _datasets[name].exception()):
            _datasets[name] = _executor.submit(data.load, name)
        fut = _datasets[name]
    return fut.result() if fut.done() and not fut.exception() else None


def download(name: str) -> str | None:
    """Run Keras' download in a separate process (keeps Keras out of this one); None on success,
    else the one-sentence reason."""
    proc = subprocess.run([sys.executable, "-m", "mnist_core", "download", "--dataset", name],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode == 0:
        return None
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    return lines[-1].removeprefix("error: ") if lines else "the download failed"


def fashion_available() -> bool:
    return data.available("fashion_mnist")


_tools = None
TOOLS_IDLE_SECONDS = 180  # a tool worker unused this long is stopped, giving back its ~1 GB


def tools():
    """A worker process for quick model work (predictions, the learning-rate finder), started on first
    use, so this process never imports TensorFlow, and stopped again after a few idle minutes."""
    global _tools
    with _lock:
        if _tools is None:
            from mnist_core.worker import WorkerProcess

            _tools = WorkerProcess(store())
            _tools.start()

            def reap():
                while True:
                    time.sleep(10)
                    _tools.close_if_idle(TOOLS_IDLE_SECONDS)
            threading.Thread(target=reap, name="tools-reaper", daemon=True).start()
        return _tools


def tool(message: dict, timeout: float = 300.0) -> dict:
    """Ask the tool worker; returns its reply (with "error", one sentence, if it failed)."""
    return tools().request(message, timeout)


_preloaded = threading.Event()


def preload_charts() -> None:
    """Import Altair and pandas in the background once the first page is drawn: the first page does not
    wait for them, and the first live chart point does not either."""
    if not _preloaded.is_set():
        _preloaded.set()
        threading.Thread(target=lambda: __import__("ui.charts"), name="preload", daemon=True).start()
