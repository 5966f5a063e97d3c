"""Every Study verdict in both directions: made-up runs where the notebook's claim holds, and runs
where it does not (including just past each bar), so a flipped or loosened verdict is caught."""

import pytest

from mnist_core import study
from mnist_core.store import RunStore
from tests.helpers import stored_run

FINDINGS = {f.key: f for f in study.findings()}


def verdict(tmp_path, key, finals, spe=None, pca=None, curves=None):
    """The finding ``key`` evaluated on one run per role: its final test accuracy (``finals``), seconds
    per epoch (``spe``, default 1.0), and the PCA record of PCA runs. ``curves`` gives whole curves."""
    store = RunStore(tmp_path / key, None)
    for role, config in FINDINGS[key].needs.items():
        curve = (curves or {}).get(role) or [finals[role] - 0.02, finals[role] - 0.01, finals[role]]
        run = stored_run(store, config.replace(epochs=len(curve)), curve,
                         seconds_per_epoch=(spe or {}).get(role, 1.0))
        if config.uses_pca:
            store.update(run.run_id, pca={"components": 154, "explained_variance": 0.951, "fit_seconds": 0.3,
                                          **(pca or {})})
    found = {f.key: f for f in study.evaluate(store.list())}[key]
    assert not found.missing
    return found


TOPO = ("1568-500", "500-150", "300-100", "100-30")


@pytest.mark.parametrize("finals, agrees", [
    ((0.9755, 0.98, 0.985, 0.98), True),
    ((0.974, 0.976, 0.976, 0.976), False),  # one topology below 97.5%
    ((0.976, 0.988, 0.98, 0.98), False),  # all high, but 1.2 points apart
])
def test_topologies(tmp_path, finals, agrees):
    assert verdict(tmp_path, "topologies", dict(zip(TOPO, finals))).agrees is agrees


@pytest.mark.parametrize("small_spe, small_final, agrees", [
    (0.6, 0.978, True),  # 40% faster, 0.2 points lost
    (0.85, 0.98, False),  # only 15% faster
    (0.6, 0.972, False),  # 0.8 points lost
    (0.6, 0.988, False),  # 0.8 points *gained*: not "little accuracy" either way
])
def test_smaller_net(tmp_path, small_spe, small_final, agrees):
    f = verdict(tmp_path, "smaller_net", {"300-100": small_final, "500-150": 0.98},
                spe={"300-100": small_spe, "500-150": 1.0})
    assert f.agrees is agrees


@pytest.mark.parametrize("variance, pca_final, fit, agrees, repaid", [
    (0.951, 0.978, 0.3, True, True),
    (0.94, 0.978, 0.3, False, True),  # fewer than 95% of the variance kept
    (0.951, 0.965, 0.3, False, True),  # 1.5 points lost
    (0.951, 0.978, 30.0, True, False),  # a fit of 30 s is not repaid in 3 epochs of 0.5 s saved
])
def test_pca(tmp_path, variance, pca_final, fit, agrees, repaid):
    f = verdict(tmp_path, "pca", {"raw": 0.98, "PCA-154": pca_final}, spe={"raw": 1.0, "PCA-154": 0.5},
                pca={"explained_variance": variance, "fit_seconds": fit})
    assert f.agrees is agrees
    assert f.comment == ("the fit is repaid within the run" if repaid else "the fit is not repaid")


@pytest.mark.parametrize("pca_final, fit, agrees", [
    (0.978, 0.3, True),  # 3 x 0.5 s + 0.3 s against 3 x 5 s
    (0.978, 20.0, False),  # the PCA fit costs more than the big net's whole training
    (0.965, 0.3, False),  # 1.5 points lost
])
def test_pca_with_a_smaller_net(tmp_path, pca_final, fit, agrees):
    f = verdict(tmp_path, "pca_small", {"PCA-154, 300-100": pca_final, "raw, 1568-500": 0.98},
                spe={"PCA-154, 300-100": 0.5, "raw, 1568-500": 5.0}, pca={"fit_seconds": fit})
    assert f.agrees is agrees


def _rising(epochs, top_epoch):
    """Accuracy rising 0.3 points an epoch until ``top_epoch``, flat after it."""
    return [0.9 + 0.003 * min(e, top_epoch) for e in range(1, epochs + 1)]


@pytest.mark.parametrize("top_epoch, agrees", [(20, True), (30, True), (31, False), (45, False)])
def test_bn_elu_levels_off_by_epoch_30(tmp_path, top_epoch, agrees):
    f = verdict(tmp_path, "bn_elu", {}, curves={"ELU + BN": _rising(50, top_epoch)})
    assert f.agrees is agrees and f"after {top_epoch} epochs" in f.ours


@pytest.mark.parametrize("relu_bn, elu_bn, agrees", [
    (2.0, 2.0, True), (1.6, 1.6, True), (2.5, 2.5, True), (1.2, 1.9, False), (1.1, 1.3, False),
    (3.0, 2.8, False),
])
def test_bn_cost_about_doubles(tmp_path, relu_bn, elu_bn, agrees):
    f = verdict(tmp_path, "bn_cost", {r: 0.98 for r in FINDINGS["bn_cost"].needs},
                spe={"ReLU": 1.0, "ELU": 1.0, "ReLU + BN": relu_bn, "ELU + BN": elu_bn})
    assert f.agrees is agrees and f.ours == f"x{relu_bn:.2f} with ReLU, x{elu_bn:.2f} with ELU"


@pytest.mark.parametrize("worst", ["ELU", "ReLU", "ReLU + BN", "ELU + BN"])
def test_elu_worst(tmp_path, worst):
    finals = {r: (0.97 if r == worst else 0.98) for r in FINDINGS["elu_worst"].needs}
    f = verdict(tmp_path, "elu_worst", finals)
    assert f.agrees is (worst == "ELU") and f.comment == f"worst: {worst}"


@pytest.mark.parametrize("best, agrees", [("nesterov", True), ("momentum", True), ("adagrad", False),
                                          ("rmsprop", False), ("adam", False)])
def test_nesterov_beats_the_adaptive_optimizers(tmp_path, best, agrees):
    finals = {o: 0.975 for o in FINDINGS["optimizers"].needs}
    finals["nesterov"] = 0.978
    finals[best] = 0.985
    f = verdict(tmp_path, "optimizers", finals)
    assert f.agrees is agrees and f.comment == f"best: {best}"
    assert f.ours.startswith(f"{best}: 98.50%")  # ranked best first
