"""The verdict rule on synthetic seed groups: equal means give "no difference", a clear gap gives its
sign, and the interval is Welch's (checked against the textbook formula)."""

import math

import numpy as np
import pytest

from mnist_core import verdicts as v

rng = np.random.default_rng(0)
NOISE = 0.002  # 0.2 points of seed-to-seed spread, as on the 60-epoch curves


def group(mean, n=5):
    return list(mean + NOISE * rng.standard_normal(n))


def test_welch_interval_matches_the_textbook_formula():
    a, b = [0.981, 0.983, 0.979, 0.982, 0.980], [0.975, 0.979, 0.977]
    iv = v.welch(a, b)
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))  # Welch-Satterthwaite
    from scipy.stats import t
    half = t.ppf(0.975, df) * math.sqrt(va + vb)
    diff = np.mean(a) - np.mean(b)
    assert (iv.estimate, iv.low, iv.high) == pytest.approx((diff, diff - half, diff + half))
    assert iv.n == (5, 3)


def test_equal_means_are_no_detectable_difference_and_a_clear_gap_has_its_sign():
    same = v.direction(v.welch(group(0.98), group(0.98)))
    assert same == (v.UNDECIDED, "no difference detectable with 5 seeds")
    assert v.direction(v.welch(group(0.985), group(0.975)))[0] == v.AGREES
    assert v.direction(v.welch(group(0.975), group(0.985)))[0] == v.DIFFERS


def test_a_gap_smaller_than_the_noise_is_not_called_with_few_seeds():
    # 0.05 points apart with 0.2 points of noise and 3 seeds: nothing can be said
    verdict, why = v.direction(v.welch(group(0.9805, 3), group(0.98, 3)))
    assert verdict == v.UNDECIDED and why == "no difference detectable with 3 seeds"


def test_one_seed_has_no_interval():
    assert v.welch([0.98], group(0.97)) is None
    assert v.direction(None) == (v.UNDECIDED, "needs at least 2 seeds per setting")
    assert v.within(None, 0, 1)[0] == v.UNDECIDED


def test_within_a_margin():
    assert v.within(v.welch(group(0.98), group(0.98)), -0.005, 0.005)[0] == v.AGREES
    assert v.within(v.welch(group(0.99), group(0.97)), -0.005, 0.005)[0] == v.DIFFERS
    verdict, why = v.within(v.welch(group(0.9845, 2), group(0.98, 2)), -0.005, 0.005)
    assert verdict == v.UNDECIDED and why == "too uncertain with 2 seeds"


def test_a_finding_differs_if_any_check_does_and_agrees_only_if_all_do():
    A, D, U = (v.Check("", x) for x in (v.AGREES, v.DIFFERS, v.UNDECIDED))
    info = v.Check("context", None)
    assert v.combine([A, A, info]) == v.AGREES
    assert v.combine([A, U]) == v.UNDECIDED and v.combine([A, U, D]) == v.DIFFERS


def test_mean_sd_shows_the_seed_count():
    assert v.mean_sd([1.0, 2.0, 3.0]) == "2.00 ± 1.00 (3)"
    assert v.mean_sd([1.0]) == "1.00 (1 seed)"



def test_groups_of_different_sizes_say_both_counts():
    verdict, why = v.direction(v.welch(group(0.98, 2), group(0.98, 3)))
    assert verdict == v.UNDECIDED and why == "no difference detectable with 2 and 3 seeds"


def test_an_interval_that_touches_zero_decides_nothing():
    assert v.direction(v.Interval(0.01, 0.0, 0.02, (5, 5)))[0] == v.UNDECIDED
    assert v.direction(v.Interval(-0.01, -0.02, 0.0, (5, 5)))[0] == v.UNDECIDED
    assert v.direction(v.Interval(0.01, 0.001, 0.02, (5, 5))) == (v.AGREES, "")  # nothing to explain
    assert v.direction(v.Interval(-0.01, -0.02, -0.001, (5, 5))) == (v.DIFFERS, "")


def test_a_difference_reads_in_points_with_its_interval():
    assert v.points(v.Interval(0.0012, -0.0150, 0.0290, (5, 3))) == "+0.12 points (95% CI -1.50 to +2.90, n = 5 and 3)"


def test_one_group_against_a_fixed_number_is_students_interval():
    a = [0.2, 0.5, 0.3, 0.4]
    iv = v.one_sample(a)
    from scipy.stats import t
    half = t.ppf(0.975, len(a) - 1) * np.std(a, ddof=1) / math.sqrt(len(a))
    assert (iv.estimate, iv.low, iv.high) == pytest.approx((0.35, 0.35 - half, 0.35 + half)) and iv.n == (4,)
    assert v.one_sample([0.5]) is None
    assert v.one_sample([0.5, 0.5, 0.5]) == v.Interval(0.5, 0.5, 0.5, (3,))  # identical repeats: exact


def test_identical_repeats_give_an_exact_difference_and_one_noisy_group_an_interval():
    assert v.welch([0.5, 0.5], [0.25, 0.25, 0.25]) == v.Interval(0.25, 0.25, 0.25, (2, 3))
    for a, b in (([0.5, 0.5], [0.2, 0.3, 0.25]), ([0.2, 0.3, 0.25], [0.5, 0.5])):
        iv = v.welch(a, b)
        assert iv.low < iv.estimate < iv.high


def test_a_summary_is_the_mean_the_sample_deviation_and_the_count():
    assert v.summary([1.0, 2.0, 3.0, 6.0]) == (3.0, pytest.approx(np.std([1, 2, 3, 6], ddof=1)), 4)
    mean, sd, n = v.summary([2.0])
    assert (mean, n) == (2.0, 1) and math.isnan(sd)
    assert v.mean_sd([98.0, 99.0], lambda x: f"{x:.1f}%", lambda x: f"{x:.3f}") == "98.5% ± 0.707 (2)"


def test_within_includes_its_margins_and_differs_only_wholly_outside():
    assert v.within(v.Interval(0.0, -0.005, 0.005, (5, 5)), -0.005, 0.005) == (v.AGREES, "")
    assert v.within(v.Interval(-0.01, -0.015, -0.005, (5, 5)), -0.005, 0.005)[0] == v.UNDECIDED  # touches it
    assert v.within(v.Interval(0.01, 0.005, 0.015, (5, 5)), -0.005, 0.005)[0] == v.UNDECIDED
    assert v.within(v.Interval(0.01, 0.006, 0.015, (5, 5)), -0.005, 0.005) == (v.DIFFERS, "")
    assert v.within(v.Interval(-0.01, -0.015, -0.006, (5, 5)), -0.005, 0.005) == (v.DIFFERS, "")
