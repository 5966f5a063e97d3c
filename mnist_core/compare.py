"""Tables and curves for comparing stored runs, as pandas DataFrames. No UI, no TensorFlow.

The app's Compare page, the Study page and the CLI all read runs through these functions, so a
number means the same thing everywhere.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import pandas as pd

from . import curves
from .config import FIELDS, RunConfig
from .store import Run

X_AXES = {"epoch": "Epoch", "train_seconds": "Training seconds", "wall_seconds": "Wall seconds"}
Y_METRICS = {"test_accuracy": "Test accuracy", "test_loss": "Test loss",
             "train_accuracy": "Train accuracy", "train_loss": "Train loss",
             "val_accuracy": "Validation accuracy", "val_loss": "Validation loss",
             "learning_rate": "Learning rate"}


def run_label(run: Run) -> str:
    """What a legend shows: the user's name if any, else the config label, with a short id suffix
    so two runs of the same settings stay apart."""
    return f"{run.display_name} · {run.run_id[-6:]}"


def runs_table(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run, the columns the Compare page shows."""
    rows = []
    for r in runs:
        d, c = r.data, r.data["config"]
        ms = d.get("milestones") or {}
        rows.append({
            "run_id": r.run_id,
            "label": r.display_name,
            "status": r.status,
            "reference": r.reference,
            "hidden": "-".join(map(str, c["hidden"])),
            "activation": c["activation"],
            "batch_norm": c["batch_norm"],
            "pca": _pca_text(c, d.get("pca")),
            "optimizer": c["optimizer"],
            "learning_rate": c["learning_rate"],
            "batch_size": c["batch_size"],
            "epochs": len(r.history),
            "best_test_accuracy": d.get("best_test_accuracy"),
            "final_test_accuracy": d.get("final_test_accuracy"),
            "epochs_to_97": (ms.get("97") or {}).get("epoch"),
            "seconds_to_97": (ms.get("97") or {}).get("train_seconds"),
            "epochs_to_98": (ms.get("98") or {}).get("epoch"),
            "seconds_to_98": (ms.get("98") or {}).get("train_seconds"),
            "seconds_per_epoch": curves.seconds_per_epoch(r.history),
            "params": d.get("param_count"),
            "tags": ", ".join(d.get("tags") or []),
            "group": d.get("group"),
            "created": d.get("created"),
        })
    table = pd.DataFrame(rows, columns=list(_COLUMNS))
    numeric = ["best_test_accuracy", "final_test_accuracy", "epochs_to_97", "seconds_to_97", "epochs_to_98",
               "seconds_to_98", "seconds_per_epoch", "params"]
    table[numeric] = table[numeric].astype("float64")  # None -> NaN: shown empty, sorted last
    table["created"] = pd.to_datetime(table["created"], errors="coerce", utc=True, format="ISO8601")
    return table


_COLUMNS = ("run_id", "label", "status", "reference", "hidden", "activation", "batch_norm", "pca",
            "optimizer", "learning_rate", "batch_size", "epochs", "best_test_accuracy",
            "final_test_accuracy", "epochs_to_97", "seconds_to_97", "epochs_to_98", "seconds_to_98",
            "seconds_per_epoch", "params", "tags", "group", "created")


def _pca_text(config: dict, pca: dict | None) -> str:
    if config.get("pca"):
        return str(config["pca"])
    if config.get("pca_variance"):
        k = f" ({pca['components']})" if pca else ""
        return f"{config['pca_variance'] * 100:g}%{k}"
    return ""


def filter_table(table: pd.DataFrame, text: str = "", statuses: Iterable[str] | None = None,
                 include_reference: bool = True) -> pd.DataFrame:
    """Rows whose label, tags or settings contain ``text`` (case-insensitive), of the given statuses."""
    keep = pd.Series(True, index=table.index)
    if text.strip():
        hay = table[["label", "tags", "hidden", "activation", "optimizer", "run_id"]].astype(str).agg(" ".join, axis=1)
        for word in text.lower().split():
            keep &= hay.str.lower().str.contains(word, regex=False)
    if statuses is not None:
        keep &= table["status"].isin(list(statuses))
    if not include_reference:
        keep &= ~table["reference"]
    return table[keep]


def settings_diff(runs: Sequence[Run]) -> pd.DataFrame:
    """The settings in which the runs differ: one row per setting, one column per run."""
    if not runs:
        return pd.DataFrame()
    configs = [r.data["config"] for r in runs]
    rows = {}
    for f in FIELDS:
        # A run stored before a setting existed had its default.
        values = [format_setting(c.get(f.name, f.default)) for c in configs]
        if len(set(values)) > 1:
            rows[f.label] = values
    columns = [run_label(r) for r in runs]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def format_setting(value) -> str:
    if isinstance(value, list):
        return "-".join(map(str, value))
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def curves_frame(runs: Sequence[Run], smoothing: float = 0.0) -> pd.DataFrame:
    """Long format: one row per (run, epoch) with every metric, smoothed per run if asked."""
    frames = []
    for r in runs:
        if not r.history:
            continue
        df = pd.DataFrame(r.history, columns=[*curves.HISTORY_KEYS, *curves.OPTIONAL_KEYS])
        if smoothing:
            for m in Y_METRICS:
                df[m] = curves.smooth(df[m].tolist(), smoothing)
        df.insert(0, "run", run_label(r))
        df.insert(1, "run_id", r.run_id)
        df["best"] = df["epoch"] == r.data.get("best_epoch")  # early stopping kept this epoch's weights
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["run", "run_id", *curves.HISTORY_KEYS, *curves.OPTIONAL_KEYS])
    return pd.concat(frames, ignore_index=True)


def curves_csv(runs: Sequence[Run]) -> str:
    """The selected runs' raw (unsmoothed) curves and their settings, as one CSV."""
    df = curves_frame(runs)
    settings = pd.DataFrame([{"run_id": r.run_id, "label": r.display_name,
                              **RunConfig.from_dict(r.data["config"]).to_hparams()} for r in runs])
    if not len(df):
        return settings.to_csv(index=False)
    return df.drop(columns=["run"]).merge(settings, on="run_id").to_csv(index=False)


def band_frame(selected: Sequence[Run], all_runs: Sequence[Run], metric: str, smoothing: float = 0.0) -> pd.DataFrame:
    """Seed groups as one series each: per epoch the mean, min and max of ``metric`` over the group's
    runs (and the mean of the time axes). A selected run in a group brings in the whole group; runs
    without a group are series of their own (min = max = the value). Only epochs every member reached
    are kept, so the band is not an artefact of a run that stopped early."""
    series: dict[str, list[Run]] = {}
    for r in selected:
        group = r.data.get("group")
        if group:
            members = [m for m in all_runs if m.data.get("group") == group]
            series[f"{r.data.get('label')} (×{len(members)} seeds)"] = members
        else:
            series[run_label(r)] = [r]
    return groups_band_frame(series, metric, smoothing)


def groups_band_frame(series: dict[str, Sequence[Run]], metric: str, smoothing: float = 0.0) -> pd.DataFrame:
    """Named groups of runs as one series each: per epoch the mean, min and max of ``metric``."""
    frames = []
    for name, members in series.items():
        df = curves_frame(members, smoothing)
        if df.empty:
            continue
        reached = min(len(m.history) for m in members if m.history)
        df = df[df["epoch"] <= reached]
        agg = df.groupby("epoch").agg(mean=(metric, "mean"), lo=(metric, "min"), hi=(metric, "max"),
                                      train_seconds=("train_seconds", "mean"),
                                      wall_seconds=("wall_seconds", "mean"), n=(metric, "size")).reset_index()
        agg.insert(0, "run", name)
        frames.append(agg)
    columns = ["run", "epoch", "mean", "lo", "hi", "train_seconds", "wall_seconds", "n"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def group_difference(selected: Sequence[Run], all_runs: Sequence[Run]) -> str | None:
    """With exactly two seed groups among the selected runs: their difference in final test accuracy with
    its 95% interval (Welch's t), or that none is detectable with this many seeds. None otherwise."""
    from . import verdicts

    names = list(dict.fromkeys(r.data.get("group") for r in selected if r.data.get("group")))
    if len(names) != 2:
        return None
    groups = [[m for m in all_runs if m.data.get("group") == g and m.status == "finished" and m.history]
              for g in names]
    labels = [g[0].data.get("label") if g else "?" for g in groups]
    finals = [[m.history[-1]["test_accuracy"] for m in g] for g in groups]
    iv = verdicts.welch(*finals)
    if iv is None:
        return (f"{labels[0]} − {labels[1]}: each group needs at least 2 finished seeds for an interval "
                f"(they have {len(finals[0])} and {len(finals[1])}).")
    verdict, why = verdicts.direction(iv)
    said = why if verdict == verdicts.UNDECIDED else f"{labels[0] if iv.estimate > 0 else labels[1]} is better"
    return (f"Final test accuracy, {labels[0]} − {labels[1]}: {verdicts.points(iv)}, "
            f"{verdicts.METHOD} over {len(finals[0])} and {len(finals[1])} seeds: {said}.")
