"""Every Study verdict in both directions, on made-up seed groups: runs where the notebook's claim holds,
runs where it does not, and runs whose difference is inside the seed noise (no verdict either way), so a
flipped, loosened or noise-blind verdict is caught."""

import pytest

from mnist_core import study, verdicts
from mnist_core.store import RunStore
from tests.helpers import stored_run

FINDINGS = {f.key: f for f in study.findings()}
JITTER = (-0.001, -0.0005, 0.0, 0.0005, 0.001)  # five seeds, 0.08 points of spread


def verdict(tmp_path, key, finals, spe=None, pca=None, curves=None, seeds=5, jitter=JITTER):
    """The finding ``key`` evaluated on seed groups: per role, ``seeds`` runs whose final test accuracy is
    ``finals[role]`` plus a small per-seed offset, at ``spe[role]`` seconds an epoch (±1% per seed)."""
    store = RunStore(tmp_path / key, None)
    for role, config in FINDINGS[key].needs.items():
        for i in range(seeds):
            j = jitter[i % len(jitter)]
            curve = (curves or {}).get(role) or [finals[role] - 0.02, finals[role] - 0.01, finals[role]]
            curve = [c + j for c in curve]
            run = stored_run(store, config.replace(epochs=len(curve), seed=42 + i), curve,
                             seconds_per_epoch=(spe or {}).get(role, 1.0) * (1 + j * 10))
            if config.uses_pca:
                store.update(run.run_id, pca={"components": 154, "explained_variance": 0.951, "fit_seconds": 0.3,
                                              **(pca or {})})
    found = {f.key: f for f in study.evaluate(store.list())}[key]
    assert not found.missing and found.seeds == seeds
    return found


TOPO = ("1568-500", "500-150", "300-100", "100-30")


@pytest.mark.parametrize("finals, expected", [
    ((0.9755, 0.98, 0.985, 0.98), "agrees"),
    ((0.96, 0.976, 0.976, 0.976), "differs"),  # one topology a point and a half short of 97%
    ((0.9702, 0.98, 0.98, 0.98), "too uncertain with 5 seeds"),  # its interval reaches below 97%
    ((0.995, 0.98, 0.98, 0.98), "differs"),  # above 99% is not near 98% either
])
def test_topologies(tmp_path, finals, expected):
    assert verdict(tmp_path, "topologies", dict(zip(TOPO, finals))).verdict_text == expected


@pytest.mark.parametrize("small_spe, small_final, expected", [
    (0.6, 0.978, "agrees"),  # 40% faster, 0.2 points lost
    (1.2, 0.98, "differs"),  # slower
    (1.0, 0.98, "no difference in time beyond the timing noise (5%)"),  # the same speed
    (0.6, 0.972, "differs"),  # 0.8 points lost
    (0.6, 0.988, "differs"),  # 0.8 points *gained*: not "little accuracy" either way
    (0.6, 0.975, "too uncertain with 5 seeds"),  # half a point lost: the interval straddles the edge
])
def test_smaller_net(tmp_path, small_spe, small_final, expected):
    f = verdict(tmp_path, "smaller_net", {"300-100": small_final, "500-150": 0.98},
                spe={"300-100": small_spe, "500-150": 1.0})
    assert f.verdict_text == expected
    assert f.ours.startswith(f"300-100: {1 - small_spe:.0%} faster per epoch (")
    assert f.times_from == "your runs on this server (fastest epochs)"


@pytest.mark.parametrize("variance, pca_final, fit, expected", [
    (0.951, 0.978, 0.3, "agrees"),
    (0.94, 0.978, 0.3, "differs"),  # fewer than 95% of the variance kept
    (0.951, 0.965, 0.3, "differs"),  # 1.5 points lost
    (0.951, 0.978, 30.0, "differs"),  # a fit of 30 s is not repaid in 3 epochs of 0.5 s saved
    (0.95, 0.978, 0.3, "agrees"),  # exactly 95% kept
    (0.951, 0.978, 1.5, "differs"),  # repaid only as the third and last epoch ends: not within the run
])
def test_pca(tmp_path, variance, pca_final, fit, expected):
    f = verdict(tmp_path, "pca", {"raw": 0.98, "PCA-154": pca_final}, spe={"raw": 1.0, "PCA-154": 0.5},
                pca={"explained_variance": variance, "fit_seconds": fit}, jitter=(0.0,))
    assert f.verdict_text == expected
    assert f.ours.startswith(f"keeps {variance:.1%} of the variance; ")
    assert f.ours.endswith(f"saves 0.50 s per epoch; the {fit:.2f} s fit is repaid after {fit / 0.5:.1f} epochs")


@pytest.mark.parametrize("pca_spe", [1.0, 1.2])
def test_pca_that_saves_no_time_never_repays_its_fit(tmp_path, pca_spe):
    f = verdict(tmp_path, "pca", {"raw": 0.98, "PCA-154": 0.979}, spe={"raw": 1.0, "PCA-154": pca_spe},
                pca={"fit_seconds": 0.3}, jitter=(0.0,))
    assert f.verdict_text == "differs"
    assert f.ours.endswith(f"saves no time per epoch ({pca_spe:.2f} s against 1.00 s), so the 0.30 s fit is "
                           f"never repaid")


@pytest.mark.parametrize("pca_final, fit, expected", [
    (0.978, 0.3, "agrees"),  # 3 x 0.5 s + 0.3 s against 3 x 5 s
    (0.978, 20.0, "differs"),  # the PCA fit costs more than the big net's whole training
    (0.965, 0.3, "differs"),  # 1.5 points lost
])
def test_pca_with_a_smaller_net(tmp_path, pca_final, fit, expected):
    f = verdict(tmp_path, "pca_small", {"PCA-154, 300-100": pca_final, "raw, 1568-500": 0.98},
                spe={"PCA-154, 300-100": 0.5, "raw, 1568-500": 5.0}, pca={"fit_seconds": fit})
    assert f.verdict_text == expected


def test_pca_with_a_smaller_net_that_saves_no_time(tmp_path):
    f = verdict(tmp_path, "pca_small", {"PCA-154, 300-100": 0.978, "raw, 1568-500": 0.98},
                spe={"PCA-154, 300-100": 5.0, "raw, 1568-500": 5.0}, pca={"fit_seconds": 0.3}, jitter=(0.0,))
    assert f.verdict_text == "no difference in time beyond the timing noise (5%)"
    assert f.ours == ("102% of the big net's training time, PCA fit included; accuracy lost +0.20 points (95% CI "
                      "+0.20 to +0.20, n = 5 and 5)")  # (3 x 5 s + 0.3 s) / (3 x 5 s); seeds alike


def _rising(epochs, top_epoch):
    """Accuracy rising 0.3 points an epoch until ``top_epoch``, flat after it."""
    return [0.9 + 0.003 * min(e, top_epoch) for e in range(1, epochs + 1)]


@pytest.mark.parametrize("key", ["bn_elu", "bn_elu_batch"])
@pytest.mark.parametrize("top_epoch, expected", [(20, "agrees"), (28, "agrees"), (45, "differs"), (5, "differs"),
                                                 (10, "agrees"), (30, "agrees"), (9, "differs"), (31, "differs")])
def test_bn_elu_levels_off_after_about_20_epochs(tmp_path, key, top_epoch, expected):
    (role,) = FINDINGS[key].needs
    f = verdict(tmp_path, key, {}, curves={role: _rising(50, top_epoch)}, jitter=(0.0,))
    assert f.verdict_text == expected and f"after {top_epoch}.0 ± 0.0 (5) epochs" in f.ours


def test_the_notebooks_bn_evaluation_is_its_own_row():
    assert FINDINGS["bn_elu_batch"].needs["ELU + BN (batch)"].bn_eval == "batch"
    assert FINDINGS["bn_elu"].needs["ELU + BN"].bn_eval == "moving"


@pytest.mark.parametrize("relu_bn, elu_bn, expected", [
    (2.0, 2.0, "agrees"), (1.7, 2.4, "agrees"), (1.2, 1.9, "differs"), (1.1, 1.3, "differs"), (3.0, 2.8, "differs"),
    (1.55, 2.0, "within the timing noise (5%)"),  # 3% under "about twice"'s ×1.6: the noise decides
])
def test_bn_cost_about_doubles(tmp_path, relu_bn, elu_bn, expected):
    f = verdict(tmp_path, "bn_cost", {r: 0.98 for r in FINDINGS["bn_cost"].needs},
                spe={"ReLU": 1.0, "ELU": 1.0, "ReLU + BN": relu_bn, "ELU + BN": elu_bn})
    assert f.verdict_text == expected and f.ours == f"×{relu_bn:.2f} with ReLU; ×{elu_bn:.2f} with ELU"


@pytest.mark.parametrize("finals, expected", [
    ({"ELU": 0.97, "ReLU": 0.98, "ReLU + BN": 0.98, "ELU + BN": 0.98}, "agrees"),
    ({"ELU": 0.98, "ReLU": 0.97, "ReLU + BN": 0.985, "ELU + BN": 0.985}, "differs"),
    ({"ELU": 0.98, "ReLU": 0.98, "ReLU + BN": 0.985, "ELU + BN": 0.985}, "no difference detectable with 5 seeds"),
])
def test_elu_worst(tmp_path, finals, expected):
    assert verdict(tmp_path, "elu_worst", finals).verdict_text == expected


@pytest.mark.parametrize("best, expected", [("nesterov", "agrees"), ("momentum", "agrees"), ("adagrad", "differs"),
                                            ("rmsprop", "differs"), ("adam", "differs")])
def test_nesterov_beats_the_adaptive_optimizers(tmp_path, best, expected):
    finals = {o: 0.975 for o in FINDINGS["optimizers"].needs}
    finals["nesterov"] = 0.978
    finals[best] = 0.985
    assert verdict(tmp_path, "optimizers", finals).verdict_text == expected


def test_momentum_a_hair_above_nesterov_on_one_seed_is_not_a_finding(tmp_path):
    """The issue's case: momentum 98.25% vs Nesterov 98.20% on one seed said nothing."""
    finals = {o: 0.975 for o in FINDINGS["optimizers"].needs}
    finals.update(nesterov=0.9820, momentum=0.9825, adam=0.9818)
    f = verdict(tmp_path, "optimizers", finals)
    assert f.verdict == verdicts.UNDECIDED and f.verdict_text == "no difference detectable with 5 seeds"


def test_seeds_levelling_off_either_side_of_epoch_30_leave_it_too_uncertain(tmp_path):
    store = RunStore(tmp_path, None)
    config = FINDINGS["bn_elu"].needs["ELU + BN"]
    for i, top in enumerate((24, 27, 30, 33, 36)):
        stored_run(store, config.replace(epochs=50, seed=42 + i), _rising(50, top))
    found = {f.key: f for f in study.evaluate(store.list())}["bn_elu"]
    assert found.verdict_text == "too uncertain with 5 seeds"
    assert found.ours.startswith("levels off (within 0.2 points of its best) after 30.0 ± 4.7 (5) epochs, ")


@pytest.mark.parametrize("ratio, claimed, expected", [
    (1.6, (1.6, 2.5), ("agrees", "")),  # the claimed range includes its edges
    (2.5, (1.6, 2.5), ("agrees", "")),
    (1.55, (1.6, 2.5), ("undecided", "within the timing noise (5%)")),
    (2.6, (1.6, 2.5), ("undecided", "within the timing noise (5%)")),
    (2.7, (1.6, 2.5), ("differs", "")),
    (1.04, (), ("undecided", "no difference in time beyond the timing noise (5%)")),  # "faster": by more than 5%
    (0.951, (), ("undecided", "no difference in time beyond the timing noise (5%)")),
    (0.95, (), ("differs", "")),  # 5% slower is slower
    (1.05, (), ("agrees", "")),
])
def test_a_time_ratio_against_the_claimed_range(ratio, claimed, expected):
    assert study._time_verdict(ratio, *claimed) == expected


@pytest.mark.parametrize("key, finals, text", [
    # the difference without an interval, at a scale where 100 against 101 points would show
    ("smaller_net", {"300-100": 0.93, "500-150": 0.98},
     "300-100: 40% faster per epoch (0.60 s against 1.00 s); accuracy given up +5.00 points"),
    ("elu_worst", {"ELU": 0.97, "ReLU": 0.98, "ReLU + BN": 0.98, "ELU + BN": 0.98},
     "ELU: 97.00% (1 seed); ReLU − ELU (one seed); ReLU + BN − ELU (one seed); ELU + BN − ELU (one seed)"),
    ("optimizers", {"nesterov": 0.98, "adagrad": 0.97, "rmsprop": 0.97, "adam": 0.97, "sgd": 0.97, "momentum": 0.97},
     "nesterov: 98.00% (1 seed); nesterov − adagrad (one seed); nesterov − rmsprop (one seed); nesterov − adam (one seed)"),
])
def test_one_seed_of_each_says_so_instead_of_an_interval(tmp_path, key, finals, text):
    f = verdict(tmp_path, key, finals, spe={"300-100": 0.6, "500-150": 1.0}, seeds=1, jitter=(0.0,))
    assert f.ours == text and f.verdict_text == "needs at least 2 seeds per setting"
