"""Altair charts. Each function takes plain data and returns a chart; none touches Streamlit."""

from __future__ import annotations

import functools
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from mnist_core.compare import X_AXES, Y_METRICS

PERCENT = ".1%"


CURVES = (("test", "test_accuracy"), ("train", "train_accuracy"), ("validation", "val_accuracy"))
CURVE_COLOUR = {"test": "#1f77b4", "train": "#ff7f0e", "validation": "#2ca02c"}


def curve_colours(curves) -> alt.Scale:
    """Each curve its colour; only the curves drawn are in the legend (no "validation" without a split)."""
    drawn = set(curves)
    shown = [c for c in CURVE_COLOUR if c in drawn] or ["test"]
    return alt.Scale(domain=shown, range=[CURVE_COLOUR[c] for c in shown])
BEST = "#d62728"  # the best epoch (early stopping keeps its weights), marked on every chart of the run


def best_epoch_rule(best_epoch: int | None) -> alt.Chart | None:
    """A dashed vertical line at the epoch whose weights the model holds (with early stopping)."""
    if not best_epoch:
        return None
    return alt.Chart(pd.DataFrame({"epoch": [best_epoch], "what": ["best epoch (weights kept)"]})).mark_rule(
        color=BEST, strokeDash=[5, 3], strokeWidth=2).encode(
        x="epoch:Q", tooltip=[alt.Tooltip("what:N", title=""), alt.Tooltip("epoch:Q", format="d")])


def _with_best(chart, best_epoch: int | None):
    rule = best_epoch_rule(best_epoch)
    return chart if rule is None else alt.layer(chart, rule)


def live_accuracy(history: Sequence[dict], epochs: int, best_epoch: int | None = None):
    """Test, train (and validation) accuracy per epoch, on an x axis already as long as the whole run."""
    rows = [{"epoch": h["epoch"], "curve": curve, "accuracy": h[key]}
            for h in history for curve, key in CURVES if h.get(key) is not None]
    df = pd.DataFrame(rows, columns=["epoch", "curve", "accuracy"])
    low = min([0.9, *df["accuracy"].tolist()]) if len(df) else 0.9
    chart = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title="Epoch", scale=alt.Scale(domain=[1, max(epochs, 2)]),
                axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("accuracy:Q", title="Accuracy", scale=alt.Scale(domain=[max(0.0, low - 0.01), 1.0]),
                axis=alt.Axis(format=PERCENT)),
        color=alt.Color("curve:N", title=None, scale=curve_colours(df["curve"]),
                        legend=alt.Legend(orient="bottom-right", labelExpr="datum.label + ' accuracy'")),
        tooltip=[alt.Tooltip("epoch:Q", format="d"), "curve:N", alt.Tooltip("accuracy:Q", format=".2%")],
    )
    return _with_best(chart, best_epoch).properties(height=340)


@functools.lru_cache(maxsize=512)
def live_accuracy_spec(points: tuple, epochs: int, best_epoch: int | None = None) -> dict:
    """The live chart as a ready Vega-Lite dict, built (and validated) once per new epoch: the live
    panel redraws twice a second for every watching browser, and rebuilding it each time cost ~15 ms.
    ``points`` are (epoch, test, train, validation or None) accuracies."""
    history = [{"epoch": e, "test_accuracy": te, "train_accuracy": tr, "val_accuracy": va}
               for e, te, tr, va in points]
    return live_accuracy(history, epochs, best_epoch).to_dict()


def learning_rate(history: Sequence[dict], epochs: int, best_epoch: int | None = None):
    """The learning rate each epoch ended with (runs stored before it was recorded have none)."""
    df = pd.DataFrame([{"epoch": h["epoch"], "learning_rate": h["learning_rate"]} for h in history
                       if h.get("learning_rate") is not None], columns=["epoch", "learning_rate"])
    chart = alt.Chart(df).mark_line(point=True, color="#7f7f7f").encode(
        x=alt.X("epoch:Q", title="Epoch", scale=alt.Scale(domain=[1, max(epochs, 2)]),
                axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("learning_rate:Q", title="Learning rate", axis=alt.Axis(format="~g")),
        tooltip=[alt.Tooltip("epoch:Q", format="d"), alt.Tooltip("learning_rate:Q", title="rate", format=".3g")])
    return _with_best(chart, best_epoch).properties(height=140)


def schedule_preview(epochs: Sequence[float], rates: Sequence[float]) -> alt.Chart:
    """The learning rate a run will use at each step, drawn before it starts (x in epochs)."""
    df = pd.DataFrame({"epoch": epochs, "learning_rate": rates})
    return alt.Chart(df).mark_line(color="#7f7f7f").encode(
        x=alt.X("epoch:Q", title="Epoch", scale=alt.Scale(domain=[0, max(epochs[-1], 1)])),
        y=alt.Y("learning_rate:Q", title="Learning rate", axis=alt.Axis(format="~g"), scale=alt.Scale(zero=True)),
        tooltip=[alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("learning_rate:Q", title="rate", format=".3g")],
    ).properties(height=150)


def overlay(df: pd.DataFrame, x: str, y: str, log_y: bool = False, side_by_side: bool = False,
            y_title: str | None = None) -> alt.Chart:
    """Runs overlaid (or one small chart each, on shared axes). Click a legend entry to highlight it.
    A run's best epoch (early stopping kept its weights) is a large red-ringed point on its line."""
    pick = alt.selection_point(fields=["run"], bind="legend")
    is_acc = y.endswith("accuracy")
    y_title = y_title or Y_METRICS[y]
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    base = alt.Chart(df).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=alt.X(f"{x}:Q", title=X_AXES[x]),
        y=alt.Y(f"{y}:Q", title=y_title + (" (log)" if log_y else ""), scale=y_scale,
                axis=alt.Axis(format=PERCENT if is_acc else "")),
        color=alt.Color("run:N", title="Run (click to highlight)", legend=alt.Legend(orient="bottom", columns=2,
                                                                                   labelLimit=360)),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
        tooltip=[alt.Tooltip("run:N", title="Run"), alt.Tooltip("epoch:Q", format="d"),
                 alt.Tooltip(f"{y}:Q", title=y_title, format=".2%" if is_acc else ".4f"),
                 alt.Tooltip("train_seconds:Q", title="Training s", format=".1f"),
                 alt.Tooltip("wall_seconds:Q", title="Wall s", format=".1f")],
    ).add_params(pick)
    if "curve" in df.columns:  # several metrics per run (a lesson's train and test accuracy): one dash each
        base = base.encode(strokeDash=alt.StrokeDash("curve:N", title="Curve",
                                                     legend=alt.Legend(orient="bottom", symbolType="stroke")))
    if "best" in df.columns and df["best"].any():
        ring = alt.Chart(df).transform_filter("datum.best").mark_point(
            size=160, color=BEST, strokeWidth=2, filled=False).encode(
            x=f"{x}:Q", y=f"{y}:Q", opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
            tooltip=[alt.Tooltip("run:N", title="Best epoch of"), alt.Tooltip("epoch:Q", format="d")])
        base = alt.layer(base, ring)
    if side_by_side:
        return base.properties(width=260, height=190).facet(
            facet=alt.Facet("run:N", title=None, header=alt.Header(labelLimit=260)), columns=3)
    return base.properties(height=420)


def variance_curve(cumulative: np.ndarray, components: int) -> alt.LayerChart:
    """Cumulative explained variance against component count, with the chosen count marked."""
    df = pd.DataFrame({"components": np.arange(1, len(cumulative) + 1), "variance": cumulative})
    line = alt.Chart(df).mark_line().encode(
        x=alt.X("components:Q", title="Components", scale=alt.Scale(type="log", domain=[1, len(cumulative)])),
        y=alt.Y("variance:Q", title="Variance kept", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        tooltip=["components:Q", alt.Tooltip("variance:Q", format=".1%")])
    mark = pd.DataFrame({"components": [components], "variance": [float(cumulative[components - 1])]})
    rule = alt.Chart(mark).mark_rule(color="#d62728").encode(x="components:Q")
    dot = alt.Chart(mark).mark_point(color="#d62728", filled=True, size=60).encode(
        x="components:Q", y="variance:Q", tooltip=["components:Q", alt.Tooltip("variance:Q", format=".1%")])
    return (line + rule + dot).properties(height=130)


def run_curves(history: Sequence[dict], metric: str, best_epoch: int | None = None):
    """One run's train, test (and validation) curve of "accuracy" or "loss", per epoch."""
    rows = [{"epoch": h["epoch"], "curve": name, "value": h[f"{split}_{metric}"]}
            for h in history for name, split in (("test", "test"), ("train", "train"), ("validation", "val"))
            if h.get(f"{split}_{metric}") is not None]
    acc = metric == "accuracy"
    chart = alt.Chart(pd.DataFrame(rows)).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("value:Q", title=metric.capitalize(), scale=alt.Scale(zero=False),
                axis=alt.Axis(format=PERCENT if acc else "")),
        color=alt.Color("curve:N", title=None, scale=curve_colours(r["curve"] for r in rows),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("epoch:Q", format="d"), "curve:N",
                 alt.Tooltip("value:Q", title=metric, format=".2%" if acc else ".4f")],
    )
    return _with_best(chart, best_epoch).properties(height=260)


def confusion(matrix: Sequence[Sequence[int]]) -> alt.LayerChart:
    """Counts of (true digit, predicted digit); the diagonal is what the model got right."""
    df = pd.DataFrame([{"true": i, "predicted": j, "count": int(v), "share": v / max(1, sum(row))}
                       for i, row in enumerate(matrix) for j, v in enumerate(row)])
    off = df[df["true"] != df["predicted"]]
    base = alt.Chart(df).encode(x=alt.X("predicted:O", title="Predicted"), y=alt.Y("true:O", title="True digit"))
    cells = base.mark_rect().encode(
        color=alt.condition("datum.true == datum.predicted", alt.value("#d9e8f5"),
                            alt.Color("count:Q", scale=alt.Scale(scheme="oranges", domain=[0, max(1, off["count"].max())]),
                                      legend=alt.Legend(title="Mistakes"))),
        tooltip=["true:O", "predicted:O", "count:Q", alt.Tooltip("share:Q", format=".1%", title="of this digit")])
    text = base.mark_text(fontSize=11).encode(text="count:Q")
    return (cells + text).properties(height=330)


def per_class(accuracy: Sequence[float]) -> alt.Chart:
    """Bars from a little below the worst digit up to each digit's accuracy. The floor is a column of the
    data, not a domain written into the chart, so the chart's spec stays the same when only the numbers
    change (Run details' epoch slider then only swaps its data)."""
    df = pd.DataFrame({"digit": list(range(len(accuracy))), "accuracy": accuracy,
                       "floor": max(0.0, min(accuracy) - 0.02)})
    return alt.Chart(df).mark_bar(clip=True).encode(
        x=alt.X("digit:O", title="Digit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("accuracy:Q", title="Test accuracy", scale=alt.Scale(zero=False, domainMax=1.0, nice=False),
                axis=alt.Axis(format=".0%")),
        y2="floor:Q",
        tooltip=["digit:O", alt.Tooltip("accuracy:Q", format=".2%")]).properties(height=330)


def layer_health(history: Sequence[dict], key: str, title: str, log: bool = False, best_epoch: int | None = None):
    """Per-layer values stored in each epoch's history (``dead_units`` or ``grad_norm``)."""
    rows = []
    for h in history:
        values = h.get(key) or []
        for i, v in enumerate(values):
            name = "output" if key == "grad_norm" and i == len(values) - 1 else f"hidden {i + 1}"
            rows.append({"epoch": h["epoch"], "layer": name, "value": v})
    df = pd.DataFrame(rows, columns=["epoch", "layer", "value"])
    # A share starts at 0; when every value is 0 (no dead unit at all) the axis still needs a range, or Vega
    # draws one tick labelled "0.000000%".
    top = float(df["value"].max()) if len(df) else 0.0
    scale = alt.Scale(type="log") if log else alt.Scale(domainMin=0, domainMax=max(top, 0.01))
    chart = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("value:Q", title=title, scale=scale,
                axis=alt.Axis(format="" if log else "%")),
        color=alt.Color("layer:N", title="Layer", legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("epoch:Q", format="d"), "layer:N", alt.Tooltip("value:Q", format=".4g")],
    )
    return _with_best(chart, best_epoch).properties(height=330)  # the legend below takes ~100 px of it


def band(df: pd.DataFrame, x: str, y: str, log_y: bool = False) -> alt.LayerChart:
    """Each series' mean as a line and its min-max over seeds as a shaded band."""
    is_acc = y.endswith("accuracy")
    pick = alt.selection_point(fields=["run"], bind="legend")
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    base = alt.Chart(df).encode(x=alt.X(f"{x}:Q", title=X_AXES[x]),
                                color=alt.Color("run:N", title="Run or seed group (click to highlight)",
                                                legend=alt.Legend(orient="bottom", columns=2, labelLimit=360)))
    area = base.mark_area(opacity=0.18).encode(y=alt.Y("lo:Q", scale=scale), y2="hi:Q",
                                               opacity=alt.condition(pick, alt.value(0.22), alt.value(0.03)))
    line = base.mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        y=alt.Y("mean:Q", title=Y_METRICS[y] + " (mean, min-max band)", scale=scale,
                axis=alt.Axis(format=PERCENT if is_acc else "")),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
        tooltip=[alt.Tooltip("run:N", title="Run"), alt.Tooltip("epoch:Q", format="d"),
                 alt.Tooltip("mean:Q", format=".2%" if is_acc else ".4f"),
                 alt.Tooltip("lo:Q", title="min", format=".2%" if is_acc else ".4f"),
                 alt.Tooltip("hi:Q", title="max", format=".2%" if is_acc else ".4f"), alt.Tooltip("n:Q", title="seeds")],
    ).add_params(pick)
    return (area + line).properties(height=420)


def class_scatter(df: pd.DataFrame, front: pd.DataFrame, x: str, x_title: str, colour: str,
                  colour_title: str) -> alt.LayerChart:
    """Each run a point (best test accuracy against its cost), coloured by a setting; the reference runs
    grey; the Pareto front a stepped line. Clicking a point selects its run (the selection "run")."""
    pick = alt.selection_point(name="run", fields=["run_id"], on="click")
    x_enc = alt.X(f"{x}:Q", title=x_title + " (log)", scale=alt.Scale(type="log"))
    y_enc = alt.Y("best_accuracy:Q", title="Best test accuracy", scale=alt.Scale(zero=False),
                  axis=alt.Axis(format=PERCENT))
    tooltip = [alt.Tooltip("name:N", title="Run"), alt.Tooltip("best_accuracy:Q", title="Best test", format=".2%"),
               alt.Tooltip("train_seconds:Q", title="Training s", format=".1f"),
               alt.Tooltip("params:Q", title="Parameters", format=","), alt.Tooltip(f"{colour}:N", title=colour_title),
               alt.Tooltip("kind:N", title="Kind")]
    keep = list(dict.fromkeys(["run_id", "name", "reference", "best_accuracy", "train_seconds", "params", x, colour]))
    data = df[keep].assign(kind=df["reference"].map({True: "reference (shipped)", False: "class"}))
    points = alt.Chart(data).mark_circle(size=110, opacity=0.85, stroke="white", strokeWidth=0.5).encode(
        x=x_enc, y=y_enc, tooltip=tooltip,
        color=alt.condition("datum.reference", alt.value("#b5b5b5"),
                            alt.Color(f"{colour}:N", title=colour_title, legend=alt.Legend(orient="right"),
                                      scale=alt.Scale(domain=sorted(set(df.loc[~df["reference"], colour]))))),
    ).add_params(pick)
    line = alt.Chart(front[[x, "best_accuracy"]]).mark_line(interpolate="step-after", color="#444",
                                                           strokeDash=[5, 3]).encode(
        x=x_enc, y=y_enc)
    return (line + points).properties(height=460)


def with_published(chart, references) -> alt.LayerChart:
    """Published results as dashed horizontal lines, each named in its tooltip (accuracy charts)."""
    refs = pd.DataFrame([{"accuracy": 1 - r["test_error"], "short": r["short"], "source": r["source"]}
                         for r in references])
    rule = alt.Chart(refs).mark_rule(strokeDash=[4, 4], color="#777").encode(
        y="accuracy:Q", tooltip=[alt.Tooltip("short:N", title="Published"), alt.Tooltip("source:N", title="Source"),
                                 alt.Tooltip("accuracy:Q", format=".2%", title="test accuracy")])
    return alt.layer(chart, rule)
