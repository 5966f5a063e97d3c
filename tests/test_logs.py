"""Logging is set up once per process: the core's info messages are seen, each warning once, no duplicates."""

import os
import subprocess
import sys

SCRIPT = """
import logging
logging.basicConfig(format="root: %(message)s")  # a handler on the root, as Streamlit or a test runner has
from mnist_core import logs
logs.setup()
logs.setup()  # the app runs its main script again on every interaction
log = logging.getLogger("mnist_core.store")
log.info("trainer 0 recycled")
for _ in range(3):
    log.warning("Skipped run folder x")  # every listing of the store would say it again
log.error("run y crashed")
log.error("run y crashed")  # errors are events: each one is shown
"""


def test_info_is_seen_once_and_a_repeated_warning_once():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    lines = proc.stderr.splitlines()
    assert proc.returncode == 0, proc.stderr
    assert sum("trainer 0 recycled" in line for line in lines) == 1
    assert sum("Skipped run folder x" in line for line in lines) == 1
    assert sum("run y crashed" in line for line in lines) == 2
    assert not any(line.startswith("root:") for line in lines)  # not passed on to the root's handler too
    assert "INFO mnist_core.store: trainer 0 recycled" in proc.stderr  # time, level and module: a server log
