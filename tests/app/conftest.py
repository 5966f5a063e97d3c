"""AppTest fixtures: the pages run in this process against a temporary store and a fake trainer."""

import re
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_core import jobs
from mnist_core.jobs import JobQueue
from mnist_core.store import RunStore
from tests.helpers import FakeTrainer

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))  # what `streamlit run app/main.py` does for the pages' `from ui import ...`


@pytest.fixture(autouse=True)
def _no_keras_cleanup_between_runs(monkeypatch):
    """After every script run Streamlit clears Keras' session if ``keras`` is imported: a full
    ``gc.collect()`` over TensorFlow's heap, about 40% of a Run details rerun's CPU time here. The app's
    own process never imports TensorFlow (models run in the worker), so there it costs nothing; in this
    process TensorFlow is loaded by every test that trains, so the AppTests skip it, as the app does."""
    from streamlit.runtime.scriptrunner import script_runner

    monkeypatch.setattr(script_runner, "_clean_problem_modules", lambda: None)


@pytest.fixture
def queue(tmp_path, mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    q = JobQueue(RunStore(tmp_path / "user", tmp_path / "reference"), max_concurrent=1, runner=FakeTrainer())
    monkeypatch.setattr(jobs, "_default", q)
    yield q
    q.close()


def open_page(page: str = "train", **query) -> AppTest:
    """Run the app at a page, with the URL's query parameters."""
    at = AppTest.from_file(str(APP / "main.py"), default_timeout=60)
    if page != "train":
        at.switch_page(f"views/{page}.py")
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def shown(markdown: str) -> str:
    """What a reader sees of Markdown that quotes user text: escapes and word joiners removed."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")
