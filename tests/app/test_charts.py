"""The chart builders produce the Vega-Lite a user would see: legends, selections, axes."""

import json

import numpy as np
import pandas as pd

from ui import charts


def _frame():
    rows = [{"run": r, "run_id": r, "epoch": e, "test_accuracy": 0.9 + 0.01 * e, "test_loss": 1.0 / e,
             "train_accuracy": 0.9, "train_loss": 0.5, "train_seconds": 0.5 * e, "wall_seconds": 0.6 * e}
            for r in ("a", "b") for e in (1, 2, 3)]
    return pd.DataFrame(rows)


def test_overlay_highlights_a_run_when_its_legend_entry_is_clicked():
    spec = charts.overlay(_frame(), "wall_seconds", "test_accuracy").to_dict()
    assert spec["params"][0]["bind"] == "legend" and spec["params"][0]["select"]["fields"] == ["run"]
    assert spec["encoding"]["x"]["field"] == "wall_seconds" and spec["encoding"]["color"]["field"] == "run"
    assert "condition" in spec["encoding"]["opacity"]
    assert {t["field"] for t in spec["encoding"]["tooltip"]} >= {"run", "test_accuracy", "epoch"}


def test_log_y_and_side_by_side():
    spec = charts.overlay(_frame(), "epoch", "test_loss", log_y=True, side_by_side=True).to_dict()
    assert spec["facet"]["field"] == "run" and spec["columns"] == 3
    assert spec["spec"]["encoding"]["y"]["scale"]["type"] == "log"


def test_live_chart_spans_the_whole_run():
    spec = charts.live_accuracy([{"epoch": 1, "test_accuracy": 0.9, "train_accuracy": 0.85}], 20).to_dict()
    assert spec["encoding"]["x"]["scale"]["domain"] == [1, 20]
    data = next(iter(spec["datasets"].values()))
    assert {d["curve"] for d in data} == {"test", "train"}


def test_variance_curve_marks_the_chosen_count():
    curve = np.linspace(0.1, 1.0, 784)
    spec = charts.variance_curve(curve, 154).to_dict()
    marked = [d for values in spec["datasets"].values() for d in values if len(d) == 2 and d["components"] == 154]
    assert marked and abs(marked[0]["variance"] - curve[153]) < 1e-9


def test_a_layer_with_no_dead_unit_still_gets_a_share_axis():
    """All zeros (no unit ever dead) used to leave the axis one tick wide, labelled "0.000000%"."""
    history = [{"epoch": e, "dead_units": [0.0, 0.0]} for e in (1, 2, 3)]
    y = charts.layer_health(history, "dead_units", "Units that never activate").to_dict()["encoding"]["y"]
    assert y["scale"]["domainMin"] == 0 and y["scale"]["domainMax"] > 0
    some = [{"epoch": e, "dead_units": [0.2 * e]} for e in (1, 2)]
    assert charts.layer_health(some, "dead_units", "dead").to_dict()["encoding"]["y"]["scale"]["domainMax"] >= 0.4


def test_a_run_without_a_validation_split_has_no_validation_in_its_legend():
    history = [{"epoch": e, "train_accuracy": 0.9, "test_accuracy": 0.91, "train_loss": 0.3, "test_loss": 0.3}
               for e in (1, 2)]
    for chart in (charts.run_curves(history, "accuracy"), charts.live_accuracy(history, 5)):
        spec = json.dumps(chart.to_dict())
        assert '"domain": ["test", "train"]' in spec and "validation" not in spec
    with_split = [{**h, "val_accuracy": 0.92} for h in history]
    assert '"domain": ["test", "train", "validation"]' in json.dumps(charts.run_curves(with_split, "accuracy").to_dict())
