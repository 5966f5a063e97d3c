"""Training on a real local Ray cluster (``MNIST_BACKEND=ray``, ``sweep --backend ray``).

Ray binds and advertises the machine's outward address even when told 127.0.0.1, so nothing here may
run in the machine's own network: each test function below that is not ``test_inside_*`` runs in a
second pytest inside a private network namespace (``unshare -n``, only a loopback interface), and
checks with ``ss`` that every connection it made is to 127.0.0.1. Without permission to make a
namespace (not root, or a container without CAP_SYS_ADMIN) they are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mnist_core.config import RunConfig
from mnist_core.store import RunStore

INSIDE = os.environ.get("MNIST_TEST_NETNS") == "1"
PROJECT = Path(__file__).resolve().parent.parent
QUICK = RunConfig(epochs=1, train_examples=2100, learning_rate=0.1)


def _can_unshare() -> str | None:
    """None if a private network namespace can be made here, else why not."""
    if not (shutil.which("unshare") and shutil.which("ip") and shutil.which("ss")):
        return "needs unshare, ip and ss (util-linux, iproute2)"
    try:
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare -n failed: {e}"
    if probe.returncode != 0:
        return f"unshare -n is not permitted here ({probe.stderr.strip()[:120]}); run as root or with CAP_SYS_ADMIN"
    return None


def _inside(marks: str, tmp_path: Path, mnist_path: Path) -> None:
    """Run this file's ``test_inside_*`` tests selected by ``marks`` in a private network namespace."""
    pytest.importorskip("ray", reason="Ray is not installed (the cluster extra, requirements-dev.txt)")
    why = _can_unshare()
    if why:
        pytest.skip(why)
    env = {**os.environ, "MNIST_TEST_NETNS": "1", "RAY_USAGE_STATS_ENABLED": "0", "MNIST_DATA": str(mnist_path),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
    env.pop("RAY_ADDRESS", None)
    script = (f'ip link set lo up && exec "$0" -m pytest -q -p no:cacheprovider -m "{marks}" '
              f'--basetemp="{tmp_path / "inside"}" -k test_inside_ "{__file__}"')
    proc = subprocess.run(["unshare", "-n", "sh", "-c", script, sys.executable], capture_output=True, text=True,
                          env=env, cwd=PROJECT, timeout=1800)
    print(proc.stdout[-6000:], proc.stderr[-3000:])
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert " passed" in proc.stdout and " skipped" not in proc.stdout


@pytest.mark.skipif(INSIDE, reason="the outer half")
def test_ray_in_a_private_network(tmp_path, mnist_path):
    _inside("not slow", tmp_path, mnist_path)


@pytest.mark.slow
@pytest.mark.skipif(INSIDE, reason="the outer half")
def test_ray_in_a_private_network_at_length(tmp_path, mnist_path):
    _inside("slow", tmp_path, mnist_path)


# --- inside the namespace ------------------------------------------------------------------------------
inside = pytest.mark.skipif(not INSIDE, reason="runs inside a private network namespace, started by the tests above")


def _only_loopback() -> str:
    """The TCP connections now open in this namespace; fails if any is not to 127.0.0.1 or ::1."""
    out = subprocess.run(["ss", "-tnaH"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        for address in line.split()[3:5]:
            host = address.rsplit(":", 1)[0].strip("[]").removeprefix("::ffff:")
            assert host in ("127.0.0.1", "::1", "*", "0.0.0.0", "::") or host.startswith("127."), line
    return out


def _wait(cond, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)


@inside
def test_inside_the_app_queue_trains_on_a_local_ray_cluster(tmp_path, monkeypatch):
    """MNIST_BACKEND=ray with no RAY_ADDRESS: the queue's bridge starts a 2-CPU Ray instance, a run trains
    as a Ray task, and progress, the epoch, the model and the record land in the app's store."""
    import zipfile

    from mnist_core.jobs import JobQueue
    from mnist_core.limits import Limits

    monkeypatch.setenv("MNIST_BACKEND", "ray")
    monkeypatch.setenv("MNIST_RAY_CPUS", "2")
    store = RunStore(tmp_path / "runs")
    q = JobQueue(store, limits=Limits())
    try:
        assert q.backend == "ray" and q.max_concurrent == 2 and not q._processes  # no local trainer
        job = q.submit(QUICK)
        seen = []
        _wait(lambda: seen.append(_only_loopback()) or job.state == "done", 600)
        assert job.status == "finished", job.reason
        assert job.progress and job.progress["steps"] == 30 and [e["epoch"] for e in job.history] == [1]
        run = store.get(job.run_id)
        assert run.status == "finished" and len(run.history) == 1 and run.data["analysis"]
        assert run.data["environment"]["ray_node"] == "127.0.0.1" and run.data["environment"]["tensorflow"]
        assert run.history[0]["test_accuracy"] > 0.7  # it learned
        # The model came home as bytes: a whole Keras file (the slow tests load and evaluate one).
        assert {"config.json", "model.weights.h5"} <= set(zipfile.ZipFile(run.model_path).namelist())
        assert any("ESTAB" in s for s in seen)  # the check above saw Ray's connections
        assert q.running_count() == 0
    finally:
        q.close()
    events = list((store.get(job.run_id).path).glob("events.out.tfevents.*"))
    assert events, "TensorBoard's event file is written by the driver too"


# --- slow: one cluster for the rest -------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A 2-CPU Ray instance whose workers see another runs folder than the driver's (as a node without
    the app's disk would): nothing may land there."""
    import ray

    from mnist_core.cluster import start_local

    elsewhere = tmp_path_factory.mktemp("worker-side-runs")
    saved = os.environ.get("MNIST_RUNS_DIR")
    os.environ["MNIST_RUNS_DIR"] = str(elsewhere)  # the workers inherit this process's environment
    try:
        start_local(ray, 2)
    finally:
        os.environ["MNIST_RUNS_DIR"] = saved or ""
    yield ray.get_runtime_context().gcs_address, elsewhere
    ray.shutdown()
    assert not any(elsewhere.iterdir()), "a worker wrote into its own runs folder"


@inside
@pytest.mark.slow
def test_inside_a_sweep_runs_as_parallel_ray_tasks(tmp_path, cluster, mnist_path):
    from mnist_core import sweep
    from tests.helpers import stored_run

    address, _ = cluster
    store = RunStore(tmp_path / "runs")
    grid = sweep.notebook(1)
    for c in grid:
        if c.hidden not in ((100, 30), (500, 150)):
            stored_run(store, c, [0.9])
    proc = subprocess.run([sys.executable, "-m", "mnist_core", "--runs-dir", str(store.user_dir), "sweep", "--epochs",
                           "1", "--backend", "ray"], capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "RAY_ADDRESS": address})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "2 to train" in proc.stdout and "Ray cluster: 2 CPU slots; training 2 at a time" in proc.stdout
    runs = [r for r in store.list() if r.config.hidden in ((100, 30), (500, 150))]
    assert len(runs) == 2 and all(r.status == "finished" and r.model_path for r in runs)
    assert all(r.history[0]["test_accuracy"] > 0.8 for r in runs)
    a, b = sorted(runs, key=lambda r: r.data["started"])
    assert b.data["started"] < a.data["ended"], "the two runs trained at the same time"
    _only_loopback()


@inside
@pytest.mark.slow
def test_inside_stop_keeps_the_epochs_and_the_model(tmp_path, cluster):
    from mnist_core.cluster import RayTrainer

    trainer = RayTrainer()
    store = RunStore(tmp_path / "runs")
    run_id, stop = store.create(QUICK.replace(epochs=30)), threading.Event()
    run = trainer(QUICK.replace(epochs=30), store, run_id,
                  on_event=lambda e: stop.set() if e["event"] == "epoch" and e["epoch"] == 2 else None, stop=stop)
    assert run.status == "stopped" and 2 <= len(run.history) < 30 and run.model_path is not None
    assert "stopped during epoch" in run.data["reason"]


@inside
@pytest.mark.slow
def test_inside_a_killed_ray_worker_leaves_a_failed_run_with_its_epochs(tmp_path, cluster, mnist):
    from mnist_core.cluster import RayTrainer
    from mnist_core.evaluate import evaluate_model

    trainer = RayTrainer()
    store = RunStore(tmp_path / "runs")
    config = QUICK.replace(epochs=200)
    run_id = store.create(config)

    def on_event(e):
        if e["event"] == "epoch" and e["epoch"] == 2:  # the node's trainer dies mid-run
            os.kill(store.get(run_id).data["environment"]["ray_pid"], signal.SIGKILL)
    run = trainer(config, store, run_id, on_event=on_event, stop=threading.Event())
    assert run.status == "failed" and len(run.history) >= 2 and run.model_path is None
    assert re.search(r"Ray worker on .* was lost after \d+ finished epochs", run.data["reason"]), run.data["reason"]
    # The cluster carries on: the next run trains.
    again = trainer(QUICK, store, store.create(QUICK), stop=threading.Event())
    assert again.status == "finished"
    result = evaluate_model(again.model_path, mnist)  # the model sent home is the trained one
    assert result["accuracy"] == pytest.approx(again.data["final_test_accuracy"], abs=1e-4)


@inside
@pytest.mark.slow
def test_inside_no_cluster_at_the_address_fails_the_run_with_one_sentence(tmp_path, monkeypatch, cluster):
    from mnist_core.jobs import JobQueue
    from mnist_core.limits import Limits

    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")  # nothing listens there
    store = RunStore(tmp_path / "runs")
    q = JobQueue(store, backend="ray", max_concurrent=1, limits=Limits())
    try:
        job = q.submit(QUICK)
        _wait(lambda: job.state == "done", 600)
    finally:
        q.close()
    assert job.status == "failed" and job.reason.startswith("Could not connect to the Ray cluster at 127.0.0.1:9")
    assert store.get(job.run_id).status == "failed" and "\n" not in job.reason
    json.dumps(store.get(job.run_id).data)
