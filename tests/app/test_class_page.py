"""The Class page with AppTest: the window, reference runs beside the class's, the best settings."""

from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from tests.app.conftest import open_page
from tests.helpers import stored_run


def test_recent_runs_and_reference_runs_are_plotted_with_the_best_settings(queue):
    stored_run(RunStore(queue.store.reference_dir), RunConfig(epochs=2), [0.9, 0.95])
    stored_run(queue.store, RunConfig(epochs=2, optimizer="nesterov"), [0.93, 0.97], name="[Ada](http://x) *1*")
    stored_run(queue.store, RunConfig(epochs=2, optimizer="adam"), [0.91, 0.94])
    old = stored_run(queue.store, RunConfig(epochs=1, optimizer="rmsprop"), [0.99])
    queue.store.update(old.run_id, created="2020-01-01T00:00:00+00:00")
    at = open_page("class")
    assert not at.exception
    assert len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) == 1
    assert "2 runs from the last 2 hours, 1 reference runs." in [c.value for c in at.caption]
    table = at.dataframe[0].value
    assert table["name"].tolist() == ["[Ada](http://x) *1*", "300-100 relu adam"]  # names as typed, best first
    assert table["optimizer"].tolist() == ["nesterov", "adam"]
    at.selectbox(key="class_window").set_value("all time").run()
    assert at.dataframe[0].value["optimizer"].tolist()[0] == "rmsprop"  # the old run is back


def test_an_empty_window_says_so_and_still_shows_the_reference_runs(queue):
    stored_run(RunStore(queue.store.reference_dir), RunConfig(epochs=2), [0.9, 0.95])
    at = open_page("class")
    assert not at.exception
    assert "No runs from the last 2 hours yet" in at.info[0].value
    assert len(at.dataframe[0].value) == 1
