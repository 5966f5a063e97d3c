"""The package as pip sees it: a wheel that holds the app, its settings and both commands, installed
outside the source tree; and (slow) a fresh venv where `pip install .` then `mnist-explorer` serves."""

from __future__ import annotations

import asyncio
import email
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest
from streamlit.proto.NewSession_pb2 import Config

PROJECT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(".git", ".venv", "user", "build", "*.egg-info", "__pycache__", ".pytest_cache",
                              "screenshots", "mutants")


def _copy_source(dest: Path) -> Path:
    """The project without its git folder, venv and your runs (building in place would leave build/)."""
    return Path(shutil.copytree(PROJECT, dest / "src", ignore=SKIP))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = _copy_source(tmp)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-w", str(tmp / "dist"), str(src)], check=True)
    return next((tmp / "dist").glob("mnist_explorer-*.whl"))


def test_the_wheel_holds_every_page_the_app_navigates_to_and_its_settings(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    pages = re.findall(r'st\.Page\("([^"]+)"', (PROJECT / "app" / "main.py").read_text())
    assert len(pages) >= 6
    for page in pages:
        assert f"mnist_explorer/{page}" in names, page
    for ui in (PROJECT / "app" / "ui").glob("*.py"):
        assert f"mnist_explorer/ui/{ui.name}" in names, ui
    assert {"mnist_explorer/main.py", "mnist_explorer/launch.py", "mnist_explorer/.streamlit/config.toml",
            "mnist_core/cli.py", "mnist_core/worker.py"} <= names
    shipped = {p.parent.name for p in (PROJECT / "cached_runs" / "reference").glob("*/run.json")}
    packed = {n.split("/")[2] for n in names if n.startswith("mnist_core/reference_runs/") and n.endswith("run.json")}
    assert shipped and packed == shipped
    models = {p.parent.name for p in (PROJECT / "cached_runs" / "reference").glob("*/model.keras")}
    assert models and {n.split("/")[2] for n in names if n.endswith("/model.keras")} == models  # Try a model works
    lessons = {p.name for p in (PROJECT / "lessons").glob("*.toml")}
    assert lessons and {n.split("/")[-1] for n in names if n.startswith("mnist_core/lesson_files/")} == lessons


def test_the_wheel_declares_both_commands_its_dependencies_and_python(wheel):
    z = zipfile.ZipFile(wheel)
    info = next(n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt"))
    entry_points = z.read(info).decode()
    assert "mnist-core = mnist_core.cli:main" in entry_points
    assert "mnist-explorer = mnist_explorer.launch:main" in entry_points
    meta = email.message_from_bytes(z.read(info.replace("entry_points.txt", "METADATA")))
    requires = [r.split(";")[0] for r in meta.get_all("Requires-Dist")]
    declared = {re.match(r"[A-Za-z0-9_.\-]+", r).group(0).lower() for r in requires}
    # Everything the app and the core import at run time, including what used to arrive by accident.
    assert {"tensorflow", "keras", "tensorboard", "streamlit", "streamlit-drawable-canvas", "scikit-learn",
            "numpy", "pandas", "altair", "pillow", "scipy"} <= declared
    assert "dev" in meta.get_all("Provides-Extra")
    assert any(r.startswith("pytest") and 'extra == "dev"' in r for r in meta.get_all("Requires-Dist"))
    assert any(r.startswith("ray==") and 'extra == "cluster"' in r for r in meta.get_all("Requires-Dist"))
    assert set(meta["Requires-Python"].split(",")) == {">=3.11", "<3.14"}  # mnist_core.PYTHON_MIN to _MAX


def test_installed_outside_the_checkout_runs_go_to_the_user_data_folder_beside_the_packaged_reference(wheel, tmp_path):
    """No cached_runs/ next to an installed package: your runs go to $XDG_DATA_HOME/mnist-explorer/runs
    (never into site-packages) and the Study page's reference runs come from inside the package."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
                    "--target", str(target), str(wheel)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("MNIST_RUNS_DIR", "MNIST_REFERENCE_RUNS", "MNIST_LESSONS")}
    env.update(PYTHONPATH=str(target), XDG_DATA_HOME=str(tmp_path / "data"))
    code = ("from mnist_core.store import RunStore; from mnist_core import lessons; import mnist_explorer.launch as l; "
            "s = RunStore(); print(s.user_dir); print(s.reference_dir); print(len(s.list())); print(l.MAIN); "
            "found, problems = lessons.load_all(); print(len(found), problems)")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == str(tmp_path / "data" / "mnist-explorer" / "runs")
    assert out[1] == str(target / "mnist_core" / "reference_runs")
    assert int(out[2]) == len(list((PROJECT / "cached_runs" / "reference").glob("*/run.json")))
    assert out[3] == str(target / "mnist_explorer" / "main.py")
    assert out[4] == f"{len(list((PROJECT / 'lessons').glob('*.toml')))} []"  # the Lessons page's files
    assert (target / "mnist_explorer" / ".streamlit" / "config.toml").is_file()


def test_mnist_explorer_help_says_what_it_serves_and_how_to_pass_options():
    out = subprocess.run([sys.executable, "-m", "app.launch", "--help"], cwd=PROJECT, capture_output=True,
                         text=True, check=True).stdout
    assert "usage: mnist-explorer" in out and "--server.port" in out


# --- the real thing: a fresh venv, pip install from the source, then the two commands ------------------------
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("MNIST_TEST_INSTALL") != "1",
                    reason="set MNIST_TEST_INSTALL=1: installs ~1.5 GB into a fresh venv from the package index")
def test_pip_install_in_a_fresh_venv_then_mnist_explorer_serves_the_app(tmp_path, mnist_path):
    """Minutes: pip downloads TensorFlow and the rest from the package index into an empty venv."""
    from bench import appserver

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    subprocess.run([bin_dir / "pip", "install", "--quiet", "--disable-pip-version-check",
                    str(_copy_source(tmp_path))], check=True, timeout=3000)

    # Both commands exist and work from an unrelated folder, with no PYTHONPATH pointing at the source.
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MNIST_RUNS_DIR", "MNIST_REFERENCE_RUNS")}
    clean.update(MNIST_DATA=str(mnist_path), XDG_DATA_HOME=str(tmp_path / "data"), HOME=str(tmp_path))
    cli = subprocess.run([bin_dir / "mnist-core", "runs"], env=clean, cwd=tmp_path, capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert "300-100" in cli.stdout  # the packaged reference runs are listed

    port = appserver.free_port()
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([bin_dir / "mnist-explorer", "--server.port", str(port), "--server.headless", "true",
                               "--server.address", "127.0.0.1"], env=clean, cwd=tmp_path, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.5)
        assert urllib.request.urlopen(url, timeout=10).status == 200

        toolbar, texts = asyncio.run(asyncio.wait_for(_first_render(url), timeout=180))
        assert any("parameters" in t for t in texts), texts  # the Train page ran its script
        # The project's settings applied, although the server was started far from any .streamlit/ folder.
        assert toolbar == Config.ToolbarMode.VIEWER
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


async def _first_render(url: str) -> tuple[int, list[str]]:
    """What a browser tab receives for its first page: the client config and the Markdown elements."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = ""
    toolbar, texts = None, []
    async with websockets.connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                                  max_size=None) as ws:
        await ws.send(msg.SerializeToString())
        async for raw in ws:
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                toolbar = fwd.new_session.config.toolbar_mode
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                if element.WhichOneof("type") == "markdown":
                    texts.append(element.markdown.body)
            elif kind == "script_finished":
                return toolbar, texts
    return toolbar, texts
