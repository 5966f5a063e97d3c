"""What a lesson can ask about a run: a number read off its stored record and curves. Pure Python.

Each measure has a name a teacher writes in a lesson file (``measure = "seconds_to_97"``), a label, and
the unit it is shown and typed in.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import curves, timing
from .store import Run


@dataclass(frozen=True)
class Measure:
    label: str  # "best test accuracy"
    unit: str  # "%", "s", "epochs", "points", "" (how the number is shown and typed)
    get: Callable[[Run, list[dict]], float | None]  # (run, its history cut to the step's epochs)


def _timed_spe(run) -> float | None:
    """A shipped run's seconds per epoch from the timing file beside it (every setting measured back to
    back, see timing.py): the reference runs were trained over hours on a shared machine, so their own
    clocks mix quiet and busy epochs. None for your runs, which keep their own clock."""
    if not run.reference:
        return None
    table = _timing_table(str(run.path.parent))
    return table.get(timing.key(run.config))


@functools.lru_cache(maxsize=4)
def _timing_table(folder: str) -> dict:
    read = timing.read(Path(folder))
    return read["seconds_per_epoch"] if read else {}


def _milestone(threshold: float, what: str):
    def get(run, history):
        hit = curves.milestones(history, [threshold])[curves.milestone_key(threshold)]
        if hit is None:
            return None
        if what == "train_seconds" and (spe := _timed_spe(run)) is not None:
            return float(hit["epoch"] * spe)
        return float(hit[what])
    return get


def _seconds_per_epoch(run, history):
    spe = _timed_spe(run)
    return spe if spe is not None else curves.seconds_per_epoch(history)


def _train_seconds(run, history):
    if not history:
        return None
    spe = _timed_spe(run)
    return len(history) * spe if spe is not None else history[-1]["train_seconds"]


def _pca(key: str):
    def get(run, history):
        value = (run.data.get("pca") or {}).get(key)
        return float(value) if isinstance(value, (int, float)) else None
    return get


MEASURES: dict[str, Measure] = {
    "best_accuracy": Measure("best test accuracy", "%", lambda r, h: curves.best(h)),
    "final_accuracy": Measure("final test accuracy", "%", lambda r, h: h[-1]["test_accuracy"] if h else None),
    "final_train_accuracy": Measure("final training accuracy", "%",
                                    lambda r, h: h[-1]["train_accuracy"] if h else None),
    # Overfitting, in accuracy points: how much better the network does on images it trained on.
    "overfit_gap": Measure("gap between training and test accuracy", "points",
                           lambda r, h: (h[-1]["train_accuracy"] - h[-1]["test_accuracy"]) * 100 if h else None),
    "epochs_to_97": Measure("epochs to reach 97%", "epochs", _milestone(0.97, "epoch")),
    "epochs_to_98": Measure("epochs to reach 98%", "epochs", _milestone(0.98, "epoch")),
    "seconds_to_97": Measure("training seconds to reach 97%", "s", _milestone(0.97, "train_seconds")),
    "seconds_to_98": Measure("training seconds to reach 98%", "s", _milestone(0.98, "train_seconds")),
    "seconds_per_epoch": Measure("training seconds per epoch", "s", _seconds_per_epoch),
    "train_seconds": Measure("training seconds in all", "s", _train_seconds),
    "params": Measure("parameters", "", lambda r, h: float(r.data["param_count"])
                      if isinstance(r.data.get("param_count"), int) else None),
    "pca_variance": Measure("share of the pixel variance kept", "%", _pca("explained_variance")),
    "pca_fit_seconds": Measure("seconds to fit PCA", "s", _pca("fit_seconds")),
}


def measure(name: str, run: Run, epochs: int) -> float | None:
    """A measure on the run's first ``epochs`` epochs (None when it does not apply, e.g. 98% never reached)."""
    value = MEASURES[name].get(run, run.history[:epochs])
    return None if value is None or not math.isfinite(value) else float(value)


def format_value(name: str, value: float | None) -> str:
    """A measured or predicted value as people read it: 97.87%, 0.66 s, 12 epochs, 3.1 points."""
    if value is None:
        return "not reached" if name.startswith(("epochs_to", "seconds_to")) else "—"
    unit = MEASURES[name].unit
    if unit == "%":
        return f"{value * 100:.2f}%"
    if unit == "s":
        return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"
    if unit == "epochs":
        return f"{value:g} epochs"
    if unit == "points":
        return f"{value:.1f} points"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
