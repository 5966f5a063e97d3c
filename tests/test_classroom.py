"""The class's results: the time window, the Pareto front and the table of best settings."""

import datetime as dt

from mnist_core import classroom
from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from tests.helpers import stored_run


def test_window_keeps_recent_runs_and_every_reference_run(tmp_path):
    store = RunStore(tmp_path / "user", tmp_path / "reference")
    stored_run(RunStore(tmp_path / "reference"), RunConfig(epochs=2), [0.9, 0.95])
    recent = stored_run(store, RunConfig(epochs=2, activation="elu"), [0.91, 0.96], name="Ada's <b>run</b>")
    old = stored_run(store, RunConfig(epochs=1), [0.8])
    store.update(old.run_id, created="2020-01-01T00:00:00+00:00")
    stored_run(store, RunConfig(epochs=1), [], status="queued")  # nothing to plot yet
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    df = classroom.frame(store.list(), since)
    assert sorted(df["reference"]) == [False, True]
    mine = df[~df["reference"]].iloc[0]
    assert mine["run_id"] == recent.run_id and mine["name"] == "Ada's <b>run</b>" and mine["activation"] == "elu"
    assert mine["best_accuracy"] == 0.96 and mine["train_seconds"] == 1.0
    assert len(classroom.frame(store.list(), None)) == 3  # no window: every run with an epoch


def test_pareto_front_is_the_best_accuracy_for_each_budget():
    import pandas as pd

    df = pd.DataFrame({"train_seconds": [1, 2, 3, 4, 5, 2], "best_accuracy": [0.90, 0.95, 0.93, 0.97, 0.96, 0.95]})
    front = classroom.pareto(df)
    assert front["train_seconds"].tolist() == [1, 2, 4]  # 3 s and 5 s are beaten by cheaper, better runs
    assert front["best_accuracy"].tolist() == [0.90, 0.95, 0.97]


def test_best_settings_lists_what_differs_among_the_best(tmp_path):
    store = RunStore(tmp_path / "user", None)
    for opt, accs in (("sgd", [0.9]), ("nesterov", [0.97]), ("adam", [0.95])):
        stored_run(store, RunConfig(epochs=1, optimizer=opt), accs)
    table = classroom.best_settings(classroom.frame(store.list(), None), n=2)
    assert table["optimizer"].tolist() == ["nesterov", "adam"]
    assert "activation" not in table.columns  # shared by all: says nothing about what made them good
