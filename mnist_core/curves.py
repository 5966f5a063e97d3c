"""Facts read off a run's history: milestones, best values, smoothing. Pure Python, no TensorFlow.

A history is a list of per-epoch dicts with the keys in HISTORY_KEYS, and those of OPTIONAL_KEYS
that the run has (runs stored before they existed, or without a validation split, lack them).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                "train_seconds", "wall_seconds")
OPTIONAL_KEYS = ("learning_rate", "val_loss", "val_accuracy")
MILESTONES = (0.97, 0.98)  # the notebook's "trained" bars: epochs and seconds to reach them


def milestone_key(threshold: float) -> str:
    return f"{threshold * 100:g}"  # "97", "98": the JSON key and what the UI shows with a % sign


def milestones(history: Sequence[dict], thresholds: Iterable[float] = MILESTONES) -> dict:
    """First epoch (and training seconds until then) at which test accuracy reached each threshold."""
    out: dict[str, dict | None] = {}
    for t in thresholds:
        hit = next((h for h in history if h["test_accuracy"] >= t), None)
        out[milestone_key(t)] = (
            None if hit is None else {"epoch": hit["epoch"], "train_seconds": hit["train_seconds"]})
    return out


def best(history: Sequence[dict], key: str = "test_accuracy") -> float | None:
    values = [h[key] for h in history if h.get(key) is not None and math.isfinite(h[key])]
    return max(values) if values else None


def seconds_per_epoch(history: Sequence[dict]) -> float | None:
    """Mean training seconds per epoch (evaluation excluded)."""
    return history[-1]["train_seconds"] / len(history) if history else None


def fastest_epoch_seconds(history: Sequence[dict]) -> float | None:
    """The run's fastest epoch, in training seconds. Like timeit's best of several repeats, it is the
    number least disturbed by other work on a shared machine, which can only make an epoch slower."""
    times = [h["train_seconds"] for h in history]
    return min(b - a for a, b in zip([0.0, *times], times)) if times else None


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased so the first points are
    not pulled towards zero (the same correction Adam applies to its moment estimates)."""
    if not 0 <= weight < 1:
        raise ValueError("smoothing weight must be in [0, 1)")
    out, last, n = [], 0.0, 0
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(v)
            continue
        n += 1
        last = last * weight + (1 - weight) * v
        out.append(last / (1 - weight ** n))
    return out
