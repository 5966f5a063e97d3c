"""The class's results: every run of a time window as one point (best accuracy against training time or
size), the Pareto front of what was best for its cost, and the settings behind the best runs.
Pure Python and pandas: no UI, no TensorFlow."""

from __future__ import annotations

import datetime as dt
from typing import Sequence

import pandas as pd

from . import curves
from .compare import format_setting
from .config import FIELDS
from .store import Run

X_CHOICES = {"train_seconds": "Training seconds", "params": "Parameters"}
COLUMNS = ["run_id", "name", "reference", "status", "created", "best_accuracy", "train_seconds", "params",
           "epochs_done", *[f.name for f in FIELDS]]


def frame(runs: Sequence[Run], since: dt.datetime | None) -> pd.DataFrame:
    """One row per run with at least one epoch: the user's runs created at or after ``since`` (None: all),
    and every reference run. Settings are formatted as text, so any of them can colour the points."""
    rows = []
    for r in runs:
        if not r.history:
            continue
        config = r.data["config"]
        rows.append({"run_id": r.run_id, "name": r.display_name, "reference": r.reference, "status": r.status,
                     "created": r.data.get("created"), "best_accuracy": curves.best(r.history),
                     "train_seconds": r.history[-1]["train_seconds"], "params": r.data.get("param_count"),
                     "epochs_done": len(r.history),
                     **{f.name: format_setting(config.get(f.name, f.default)) for f in FIELDS}})
    df = pd.DataFrame(rows, columns=COLUMNS)
    # One vectorised parse of the dates (per-run parsing was most of this page's time with 200 runs).
    df["created"] = pd.to_datetime(df["created"], errors="coerce", utc=True, format="ISO8601")
    if since is not None:
        df = df[df["reference"] | (df["created"] >= since)].reset_index(drop=True)
    df[["best_accuracy", "train_seconds", "params"]] = df[["best_accuracy", "train_seconds", "params"]].astype("float64")
    return df


def pareto(df: pd.DataFrame, x: str = "train_seconds", y: str = "best_accuracy") -> pd.DataFrame:
    """The runs no other run beats on both counts: nothing cheaper (smaller x) is as accurate (y).
    Sorted by x, so drawn as a line it is the best accuracy reached for each budget."""
    points = df.dropna(subset=[x, y]).sort_values([x, y], ascending=[True, False])
    best, keep = float("-inf"), []
    for index, value in points[y].items():
        if value > best:
            keep.append(index)
            best = value
    return points.loc[keep]


def best_settings(df: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` most accurate runs with the settings that vary among them (a setting all share says
    nothing about what made them good)."""
    top = df.sort_values("best_accuracy", ascending=False).head(n)
    varying = [f.name for f in FIELDS if top[f.name].nunique() > 1]
    return top[["name", "reference", "best_accuracy", "train_seconds", "epochs_done", *varying, "run_id"]]
