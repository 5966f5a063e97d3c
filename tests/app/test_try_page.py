"""Try a model with AppTest: which runs are offered. (Drawing and uploading need a browser: see
tests/e2e/test_views.py, which also checks the prediction.)"""

from mnist_core.config import RunConfig
from mnist_core.runner import execute
from tests.app.conftest import open_page
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
