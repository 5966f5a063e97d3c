"""Faults a classroom server meets: the server killed mid-run, hostile links. Nothing is lost."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.request

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from bench import appserver
from mnist_core.store import RunStore


def _children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_sigkill_during_a_run_keeps_its_epochs_as_interrupted(chromium, tmp_path, mnist_path):
    env = {**os.environ, "MNIST_DATA": str(mnist_path), "MNIST_RUNS_DIR": str(tmp_path / "user"),
           "MNIST_REFERENCE_RUNS": ""}
    log = tmp_path / "server.log"
    server, url = appserver.start(env, log)
    page = chromium.new_page()
    try:
        page.goto(f"{url}/?epochs=500&train_examples=10000")  # under a second an epoch: minutes from done
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text(re.compile(r"Epoch ([3-9]|\d\d+)/500")).wait_for(timeout=90_000)
        workers = _children(server.pid)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    finally:
        page.close()
    deadline = time.monotonic() + 20
    while any(os.path.exists(f"/proc/{w}") and "mnist_core.worker" in open(f"/proc/{w}/cmdline").read()
              for w in workers if os.path.exists(f"/proc/{w}")):
        assert time.monotonic() < deadline, "the training worker outlived the killed server"
        time.sleep(0.2)

    store = RunStore(tmp_path / "user", None)
    for path in (tmp_path / "user").glob("*/run.json"):
        json.loads(path.read_text())  # every run.json parses after the kill
    (run,) = store.list()
    logged = len(run.history)
    assert run.status == "running" and logged >= 2

    server, url = appserver.start(env, log)  # the next start marks it
    try:
        page = chromium.new_page()
        page.goto(f"{url}/compare")
        page.get_by_text("runs shown").wait_for(timeout=60_000)
        page.close()
        run = store.get(run.run_id)
        assert run.status == "interrupted" and len(run.history) == logged
        assert f"after {logged} epochs" in run.data["reason"]
        events = EventAccumulator(str(run.path)).Reload().Tensors("accuracy/test")
        assert [e.step for e in events][:logged] == list(range(1, logged + 1))
    finally:
        appserver.stop(server)


def test_hostile_links_and_names_leave_the_store_alone(page, server, tmp_path):
    pg = page
    root = server["root"]
    before = sorted(p.name for p in root.rglob("*"))
    for query in ("?hidden=" + "9" * 20_000, "?run=../../../../etc/passwd", "?epochs=1&epochs=2&epochs=%00",
                  "?dataset=fashion_mnist%2F..%2F..", "?activation=%3Cimg%20src=x%20onerror=alert(1)%3E"):
        pg.goto(server["url"] + "/" + query)
        pg.get_by_role("button", name="Train", exact=True).wait_for()
    pg.goto(server["url"] + "/details?run=..%2F..%2Fetc")
    pg.get_by_text("Run details").first.wait_for()
    assert pg.locator("img[src='x']").count() == 0  # HTML in a link is never rendered
    assert sorted(p.name for p in root.rglob("*")) == before  # nothing written or deleted
    assert urllib.request.urlopen(server["url"] + "/_stcore/health").status == 200
