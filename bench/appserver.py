"""Start the app on a free port and wait until it answers; how Debian's Chromium is launched headless.
Shared by the benchmarks and the browser tests (tests/e2e)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 1000}  # a teacher's laptop; every bench page uses it
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


class ServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict, log: Path, port: int | None = None, timeout: float = 60.0,
          script: Path = PROJECT / "app" / "main.py") -> tuple[subprocess.Popen, str]:
    """``streamlit run app/main.py`` (or ``script``) with ``env`` (plus the project on PYTHONPATH), its
    output appended to ``log``; returns the process and its URL once /_stcore/health answers."""
    port = port or free_port()
    with open(log, "a") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script),
                                 "--server.port", str(port), "--server.headless", "true",
                                 "--browser.gatherUsageStats", "false"],
                                env={**env, "PYTHONPATH": str(PROJECT)}, stdout=out, stderr=out, cwd=PROJECT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return proc, url
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise ServerError(f"the app server did not become healthy; log {log}: {Path(log).read_text()[-2000:]}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
