"""Try a model with AppTest: which runs are offered. (Drawing and uploading need a browser: see
tests/e2e/test_views.py, which also checks the prediction.)"""

import json
import re

import pytest

from mnist_core import trace
from mnist_core.config import RunConfig
from mnist_core.runner import execute
from tests.app.conftest import open_page, shown
from tests.helpers import stored_run


def test_without_a_saved_model_the_page_says_how_to_get_one(queue):
    stored_run(queue.store, RunConfig(epochs=2), [0.9, 0.95])  # curves only, like the reference runs
    at = open_page("try")
    assert not at.exception
    assert any("No stored run has a saved model yet" in i.value for i in at.info)


def test_runs_with_a_model_are_offered(queue, mnist_path):
    run = execute(RunConfig(epochs=1, train_examples=1400, hidden=(16,), learning_rate=0.1), queue.store,
                  data_path=str(mnist_path))
    stored_run(queue.store, RunConfig(epochs=2), [0.9, 0.95])
    at = open_page("try")
    assert not at.exception and not at.info
    options = at.selectbox(key="try_run").options
    assert len(options) == 1 and "16" in options[0]
    assert run.model_path is not None


@pytest.fixture
def traced_run(queue, mnist_path, monkeypatch):
    """A real model (3 epochs on 2,800 MNIST images), asked in this process instead of a tool worker."""
    from mnist_core import worker

    def tool(message, timeout=300.0):
        try:
            return {"event": "reply", **worker.TOOLS[message["cmd"]](message, queue.store)}
        except Exception as e:  # noqa: BLE001 - as the worker answers
            return {"event": "reply", "error": worker._one_line(e)}

    monkeypatch.setattr("ui.services.tool", tool)
    run = execute(RunConfig(epochs=2, train_examples=2800, learning_rate=0.1, hidden=(300, 100)), queue.store,
                  data_path=str(mnist_path))
    tool({"cmd": "predict", "run_id": run.run_id, "pixels": [0.0] * 784})  # loads the model, as a warm worker has
    return run


SLOW = 300  # seconds a script run may take: TensorFlow in this process, on a loaded 2-core machine


def test_a_test_image_is_traced_layer_by_layer_with_its_saliency(traced_run, mnist):
    at = open_page("try")
    at.number_input(key="try_test_image").set_value(0).run(timeout=SLOW)  # a 7
    assert not at.exception and not at.error
    said = re.search(r"It's a \*\*(\d)\*\* \(([0-9.]+)% sure\)", " ".join(m.value for m in at.markdown))
    assert said and said.group(1) == str(mnist.y_test[0])
    assert any("MNIST's test image 0: a 7" in c.value for c in at.caption)
    # the digit, its saliency, and the 8 units it excites most
    captions = [c for img in at.image for c in img.captions]
    assert "What the network sees (28x28)" in captions
    assert any(c.startswith("Saliency: where ink would raise (red) or lower (blue) the score of 7") for c in captions)
    assert sum(c.startswith("unit ") for c in captions) == 8
    # one strip per layer, 300, 100 and the 10 logits, and one sweep chart per knob
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    titles = [s["title"]["text"] for s in specs if isinstance(s.get("title"), dict)]
    assert len(titles) == 3, titles
    assert titles[0].startswith("hidden layer 1: 300 units") and titles[1].startswith("hidden layer 2: 100 units")
    assert titles[2] == "output: the 10 logits, largest first"
    knobs = [s["layer"][0]["encoding"]["x"]["title"] for s in specs if "layer" in s and "title" not in s]
    assert knobs == [f"{label} ({unit})" for label, unit, *_ in trace.KNOBS.values()]


def test_the_robustness_sliders_redraw_the_prediction(traced_run, mnist):
    at = open_page("try")
    at.number_input(key="try_test_image").set_value(0).run(timeout=SLOW)

    def probability():
        text = " ".join(m.value for m in at.markdown)
        return re.search(r"It's a \*\*(\d)\*\* \(([0-9.]+)% sure\)", text).groups()

    before = probability()
    at.slider(key="trace_shift_x").set_value(6).run(timeout=SLOW)
    assert not at.exception
    moved = probability()
    assert moved != before  # moved 6 pixels right, the network is less sure or says another digit
    assert any("moved by the sliders" in c for img in at.image for c in img.captions)
    at.button(key="trace_reset_button").click().run(timeout=SLOW)
    assert at.slider(key="trace_shift_x").value == 0 and probability() == before


def test_a_model_that_cannot_be_traced_says_why_in_one_sentence(traced_run, monkeypatch):
    monkeypatch.setattr("ui.services.tool", lambda message, timeout=300.0: {
        "event": "reply", "error": "This model is not one of this app's networks (no dense_1 or logits layer), "
                                   "so it cannot be traced."})
    at = open_page("try")
    at.number_input(key="try_test_image").set_value(3).run(timeout=SLOW)
    assert not at.exception
    assert [shown(e.value) for e in at.error] == [
        "This model is not one of this app's networks (no dense_1 or logits layer), so it cannot be traced."]
    assert not at.image  # no half-drawn trace
