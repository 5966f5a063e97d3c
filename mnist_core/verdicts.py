"""Verdicts that know the noise: a claim counts only when its 95% interval says so.

Two runs that differ only in their seed end 0.1 to 0.3 points apart at epoch 60, as far apart as some of
the differences the notebook drew conclusions from. So every number here is a mean over seeds, with
its standard deviation and count, and every comparison is a 95% confidence interval from **Welch's t**
(two groups, unequal variances; scipy's ``ttest_ind(equal_var=False)``), or Student's t for one
group against a fixed number.

A claim is one of three kinds, and the interval decides it:
- **direction** ("A is faster than B"): agrees when the whole interval is on the claimed side, differs
  when it is all on the other side, else *no difference detectable with n seeds*;
- **within** ("A loses little accuracy", i.e. the difference is inside ± a stated margin, or a number
  is inside a stated range): agrees when the whole interval is inside, differs when it is all outside,
  else *too uncertain with n seeds*;
- with fewer than two seeds in a group there is no interval: *needs at least 2 seeds*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

CONFIDENCE = 0.95
METHOD = "Welch's t, 95% interval"

AGREES, DIFFERS, UNDECIDED = "agrees", "differs", "undecided"


@dataclass
class Interval:
    estimate: float
    low: float
    high: float
    n: tuple[int, ...]  # seeds behind each side


@dataclass
class Check:
    """One number of ours, its interval and what it says about the claim."""
    text: str
    verdict: str | None  # AGREES, DIFFERS or UNDECIDED; None: a number shown for context, not judged
    why: str = ""  # for UNDECIDED: in words, with the seed count


def summary(values: Sequence[float]) -> tuple[float, float, int]:
    """(mean, sample standard deviation, n); the deviation is nan for one value."""
    v = np.asarray(values, float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else math.nan, len(v)


def mean_sd(values: Sequence[float], fmt=lambda x: f"{x:.2f}", sd_fmt=None) -> str:
    """'98.21 ± 0.07 (5)': the form every row of ours takes."""
    mean, sd, n = summary(values)
    if n < 2:
        return f"{fmt(mean)} (1 seed)"
    return f"{fmt(mean)} ± {(sd_fmt or fmt)(sd)} ({n})"


def welch(a: Sequence[float], b: Sequence[float]) -> Interval | None:
    """Interval of mean(a) - mean(b); None when a group has fewer than two values."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return None
    diff = float(a.mean() - b.mean())
    if a.var() == 0 and b.var() == 0:  # identical repeats: the difference is exact
        return Interval(diff, diff, diff, (len(a), len(b)))
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(CONFIDENCE)
    return Interval(diff, float(ci.low), float(ci.high), (len(a), len(b)))


def one_sample(a: Sequence[float]) -> Interval | None:
    """Interval of the mean of a (Student's t); None for fewer than two values."""
    from scipy import stats

    a = np.asarray(a, float)
    if len(a) < 2:
        return None
    if a.var() == 0:
        return Interval(float(a[0]), float(a[0]), float(a[0]), (len(a),))
    ci = stats.ttest_1samp(a, 0.0).confidence_interval(CONFIDENCE)
    return Interval(float(a.mean()), float(ci.low), float(ci.high), (len(a),))


def _seeds(iv: Interval) -> str:
    return " and ".join(str(n) for n in sorted(set(iv.n))) + " seeds"


def direction(iv: Interval | None) -> tuple[str, str]:
    """The claim says the quantity (a difference) is above 0."""
    if iv is None:
        return UNDECIDED, "needs at least 2 seeds per setting"
    if iv.low > 0:
        return AGREES, ""
    if iv.high < 0:
        return DIFFERS, ""
    return UNDECIDED, f"no difference detectable with {_seeds(iv)}"


def within(iv: Interval | None, low: float, high: float) -> tuple[str, str]:
    """The claim says the quantity lies in [low, high]."""
    if iv is None:
        return UNDECIDED, "needs at least 2 seeds per setting"
    if low <= iv.low and iv.high <= high:
        return AGREES, ""
    if iv.high < low or iv.low > high:
        return DIFFERS, ""
    return UNDECIDED, f"too uncertain with {_seeds(iv)}"


def combine(checks: Sequence[Check]) -> str:
    """A finding agrees when all its checks do, differs when any does, else is undecided."""
    verdicts = {c.verdict for c in checks if c.verdict is not None}
    if DIFFERS in verdicts:
        return DIFFERS
    return AGREES if verdicts <= {AGREES} else UNDECIDED


def points(iv: Interval) -> str:
    """An accuracy difference in points with its interval: '+0.12 points (95% CI -0.05 to +0.29)'."""
    return (f"{iv.estimate * 100:+.2f} points (95% CI {iv.low * 100:+.2f} to {iv.high * 100:+.2f}, "
            f"n = {' and '.join(map(str, iv.n))})")

