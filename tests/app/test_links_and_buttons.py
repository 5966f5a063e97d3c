"""What a user notices on the Train page beyond its controls: a link trains exactly its settings,
Cancel and Stop act on the queue, and names people typed are shown as typed (never as Markdown)."""

import html
import re
import threading

import pytest
from markdown_it import MarkdownIt

from mnist_core import jobs
from mnist_core.config import RunConfig
from mnist_core.jobs import JobQueue
from mnist_core.store import RunStore
from tests.app.conftest import open_page
from tests.helpers import FakeTrainer, stored_run


def test_a_link_trains_exactly_its_settings(queue):
    # Every setting but PCA (its link is tested on its own: fitting the variance curve is slow here).
    link = {"hidden": "128-64-32", "activation": "tanh", "batch_norm": "1", "optimizer": "momentum",
            "learning_rate": "0.05", "batch_size": "35", "epochs": "3", "seed": "7", "train_examples": "7000"}
    at = open_page(**link)
    assert not at.exception and not at.warning
    at.button[0].click().run()
    run_id = at.query_params["run"]
    job = queue.wait(run_id[-1] if isinstance(run_id, list) else run_id, timeout=30)
    assert job.config == RunConfig(hidden=(128, 64, 32), activation="tanh", batch_norm=True,
                                   optimizer="momentum", learning_rate=0.05, batch_size=35, epochs=3, seed=7,
                                   train_examples=7000)


class Gate(FakeTrainer):
    """A fake trainer whose runs wait, epoch by epoch, until the test opens the gate (or they are stopped)."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()

    def __call__(self, config, store, run_id, on_event, stop, data_path=None):
        store.update(run_id, status="running")
        while not self.gate.wait(0.02):
            if stop.is_set():
                store.update(run_id, status="stopped", reason="stopped")
                on_event({"event": "end", "run_id": run_id, "status": "stopped", "reason": "stopped"})
                return
        super().__call__(config, store, run_id, on_event, stop, data_path)


@pytest.fixture
def gated(tmp_path, mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    trainer = Gate()
    q = JobQueue(RunStore(tmp_path / "user", tmp_path / "reference"), max_concurrent=1, runner=trainer)
    q.trainer = trainer
    monkeypatch.setattr(jobs, "_default", q)
    yield q
    trainer.gate.set()
    q.close()


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_cancel_takes_a_waiting_run_out_of_the_queue(gated):
    first = gated.submit(RunConfig(epochs=2))  # trains (held at the gate): the next one waits
    at = open_page(epochs="2", seed="5")
    at.button[0].click().run()
    run_id = at.query_params["run"]
    run_id = run_id[-1] if isinstance(run_id, list) else run_id
    assert gated.position(run_id) == 1
    assert any("Waiting in the queue: place 1 of 2" in i.value for i in at.info)
    _button(at, "Cancel").click().run()
    assert not at.exception
    assert gated.position(run_id) is None and [j.run_id for j in gated.active()] == [first.run_id]
    assert run_id not in [r.run_id for r in gated.store.list()]  # its empty run is gone too
    gated.trainer.gate.set()
    assert gated.wait(first.run_id, timeout=10).status == "finished"
    assert [c.seed for c in gated.trainer.configs] == [42]  # the cancelled run never trained


def test_stop_ends_the_running_run(gated):
    at = open_page(epochs="3")
    at.button[0].click().run()
    run_id = at.query_params["run"]
    run_id = run_id[-1] if isinstance(run_id, list) else run_id
    at.run()
    _button(at, "Stop").click().run()
    assert not at.exception
    assert gated.wait(run_id, timeout=10).status == "stopped"
    assert gated.store.get(run_id).status == "stopped"


HOSTILE = "**bold** _it_ [click](http://evil.example) <b>html</b> # not a heading `code` \\ $x$"


def _shown(markdown_source: str) -> str:
    """The text a reader sees when Streamlit renders this Markdown (tags stripped, entities decoded)."""
    rendered = MarkdownIt("commonmark", {"html": True}).renderInline(markdown_source)
    visible = html.unescape(re.sub(r"<[^>]+>", "", rendered)).replace("\u2060", "")  # word joiners are invisible
    return visible, rendered


def test_a_typed_run_name_is_shown_as_typed_on_every_page(queue):
    run = stored_run(queue.store, RunConfig(epochs=2), [0.95, 0.97], name=HOSTILE)
    details = open_page("details", run=run.run_id)
    live = open_page("train", run=run.run_id)
    for at in (details, live):
        assert not at.exception
        text, rendered = _shown(at.subheader[0].value)
        assert text == HOSTILE and "<strong>" not in rendered and "<a " not in rendered and "<b>" not in rendered
