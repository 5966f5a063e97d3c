import math

import pytest

from mnist_core import curves


def _h(accs):
    return [{"epoch": i, "test_accuracy": a, "train_seconds": 0.5 * i} for i, a in enumerate(accs, 1)]


def test_milestones_take_the_first_epoch_at_or_above_the_bar():
    ms = curves.milestones(_h([0.95, 0.97, 0.969, 0.98]))
    assert ms == {"97": {"epoch": 2, "train_seconds": 1.0}, "98": {"epoch": 4, "train_seconds": 2.0}}
    assert curves.milestones(_h([0.5])) == {"97": None, "98": None}


def test_smoothing_matches_tensorboards_debiased_ema():
    values = [1.0, 0.0, 1.0, 0.0]
    w = 0.6
    # TensorBoard: last = last * w + (1 - w) * v; debias = 1 - w ** n; smoothed = last / debias
    expected, last = [], 0.0
    for n, v in enumerate(values, 1):
        last = last * w + (1 - w) * v
        expected.append(last / (1 - w ** n))
    assert curves.smooth(values, w) == pytest.approx(expected)
    assert curves.smooth(values, 0.0) == values
    assert curves.smooth([5.0], 0.9) == [pytest.approx(5.0)]  # debiased: no pull towards zero


def test_smoothing_skips_missing_values_and_checks_its_weight():
    assert math.isnan(curves.smooth([1.0, float("nan"), 1.0], 0.5)[1])
    with pytest.raises(ValueError, match=r"^smoothing weight must be in \[0, 1\)$"):  # says what it takes
        curves.smooth([1.0], 1.0)


def test_best_and_seconds_per_epoch():
    h = _h([0.9, 0.95, 0.93])
    assert curves.best(h) == 0.95 and curves.seconds_per_epoch(h) == 0.5
    assert curves.best([]) is None and curves.seconds_per_epoch([]) is None


def test_a_missing_point_does_not_poison_the_smoothed_points_after_it():
    out = curves.smooth([1.0, float("nan"), 1.0, None, 1.0], 0.5)
    assert math.isnan(out[1]) and out[3] is None
    assert [out[0], out[2], out[4]] == [pytest.approx(1.0)] * 3


def test_the_fastest_epoch_counts_the_first_from_zero():
    assert curves.fastest_epoch_seconds([{"train_seconds": s} for s in (1.0, 1.8, 3.0)]) == pytest.approx(0.8)
    assert curves.fastest_epoch_seconds([{"train_seconds": s} for s in (0.5, 2.0)]) == pytest.approx(0.5)
    assert curves.fastest_epoch_seconds([]) is None


def test_best_ignores_a_missing_value():
    assert curves.best([{"test_accuracy": None}, {"test_accuracy": 0.9}, {"test_accuracy": float("nan")}]) == 0.9
