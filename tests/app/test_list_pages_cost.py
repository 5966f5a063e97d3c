"""What opening a page that only shows runs costs the server: no TensorFlow, no training worker while it
is drawn, and each stored record checked once per version, not once per visitor.

Run in a fresh interpreter, so that what is imported is what the pages imported (this test process has
imported TensorFlow for other tests) and no queue exists before the pages ask for one.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from tests.helpers import stored_run

PROJECT = Path(__file__).resolve().parents[2]

VISITS = r"""
import json, sys
sys.path.insert(0, sys.argv[1] + "/app")
from streamlit.testing.v1 import AppTest
from mnist_core import jobs, store
from ui import services

services.WARM_UP_DELAY = 3600  # scheduled, but not within this test
checked = []
real_check = store.record.check
store.record.check = lambda data: (checked.append(data.get("run_id")), real_check(data))

def visit(page):
    at = AppTest.from_file(sys.argv[1] + "/app/main.py", default_timeout=120)
    at.switch_page(f"views/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at

report = {}
for n, page in enumerate(["class", "compare", "class", "compare"]):
    checked.clear()
    at = visit(page)
    report[f"{n} {page}"] = len(checked)
    if page == "class":
        report["captions"] = [c.value for c in at.caption]
report["tensorflow"] = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
report["queue started"] = jobs._default is not None
report["warm-up scheduled"] = getattr(services, "_warming", None) is not None and services._warming.is_set()
print(json.dumps(report))
"""


def test_class_and_compare_read_each_record_once_and_wake_no_tensorflow(tmp_path):
    store = RunStore(tmp_path / "user", reference_dir=False)
    for seed in range(5):
        stored_run(store, RunConfig(seed=seed, epochs=2), [0.9, 0.95])
    env = {**os.environ, "MNIST_RUNS_DIR": str(tmp_path / "user"), "MNIST_REFERENCE_RUNS": "",
           "PYTHONPATH": str(PROJECT)}
    # Its log goes to a file: a training worker it started would hold a pipe open after it has exited.
    with open(tmp_path / "log", "w+") as log:
        proc = subprocess.run([sys.executable, "-c", VISITS, str(PROJECT)], env=env, stdout=subprocess.PIPE,
                              stderr=log, text=True, timeout=600, cwd=PROJECT)
        log.seek(0)
        assert proc.returncode == 0, log.read()[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert any("5 runs" in c for c in report["captions"]), report["captions"]  # the runs were really shown
    # The first page reads and checks every record once; later visitors and other pages reuse them.
    assert report["0 class"] == 5
    assert report["1 compare"] == report["2 class"] == report["3 compare"] == 0
    assert report["tensorflow"] == []
    # The training workers are not started while a page that does not train is drawn, only soon after.
    assert not report["queue started"] and report["warm-up scheduled"]
