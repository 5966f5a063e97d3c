"""The claim table computed from a small synthetic store (made-up curves with known answers)."""

import pytest

from mnist_core import study
from mnist_core.config import OPTIMIZERS
from mnist_core.store import RunStore
from tests.helpers import stored_run

B = study.BASE.replace(epochs=3)


def _curve(final):
    return [final - 0.02, final - 0.01, final]


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "user", tmp_path / "ref")
    shipped = RunStore(tmp_path / "ref")
    spec = [  # settings, final accuracy, seconds per epoch
        (B.replace(hidden=(1568, 500)), 0.981, 5.0), (B.replace(hidden=(500, 150)), 0.9815, 1.0),
        (B, 0.980, 0.6), (B.replace(hidden=(100, 30)), 0.976, 0.3),
        (B.replace(pca=154), 0.979, 0.4), (B.replace(hidden=(1568, 500), pca=154), 0.981, 2.5),
        (B.replace(activation="elu"), 0.975, 0.6), (B.replace(batch_norm=True), 0.9805, 1.1),
        (B.replace(activation="elu", batch_norm=True), 0.982, 1.2),
        *[(B.replace(optimizer=o), {"nesterov": 0.983, "adam": 0.97}.get(o, 0.979), 0.7)
          for o in OPTIMIZERS if o != "sgd"],
    ]
    for config, final, spe in spec:
        run = stored_run(shipped, config, _curve(final), seconds_per_epoch=spe)
        if config.uses_pca:
            shipped.update(run.run_id, pca={"components": 154, "explained_variance": 0.9502,
                                            "fit_seconds": 0.3, "cached": False})
    return s


def _by_key(store):
    return {f.key: f for f in study.evaluate(store.list())}


def test_every_finding_is_computed_from_the_runs(store):
    found = _by_key(store)
    assert list(found) == ["topologies", "smaller_net", "pca", "pca_small", "bn_elu", "bn_cost", "elu_worst",
                           "optimizers"]
    assert all(not f.missing for f in found.values())
    assert found["topologies"].agrees and "100-30: 97.60%" in found["topologies"].ours
    assert found["smaller_net"].ours.startswith("40% faster per epoch, +0.15 points")
    assert "keeps 95.0% of the variance" in found["pca"].ours and "repaid after 1.5 epochs" in found["pca"].ours
    # (3 x 0.4 s + a 0.3 s fit) / (3 x 5.0 s)
    assert found["pca_small"].ours.startswith("10% of the big net's training time")
    # 0.962, 0.972, 0.982 at 1.2 s an epoch: within 0.2 points of the best only at epoch 3
    assert found["bn_elu"].ours == ("levels off (within 0.2 points of its best, 98.20%) after 3 epochs (4 s); "
                                    "98% after 3 epochs (4 s)")
    assert found["bn_cost"].ours == "x1.83 with ReLU, x2.00 with ELU" and found["bn_cost"].agrees
    assert found["elu_worst"].agrees and found["optimizers"].agrees


def test_a_finding_that_does_not_hold_is_marked_as_differing(store, tmp_path):
    # A user run with the same settings but more epochs does not replace the shipped one...
    user_elu_bn = stored_run(store, study.BASE.replace(activation="elu", batch_norm=True, epochs=4),
                             [0.9, 0.91, 0.92, 0.93])
    assert _by_key(store)["elu_worst"].runs["ELU + BN"].reference
    # ...but with no shipped runs, it is used, and now ELU + BN is the worst of the four.
    only_user = RunStore(tmp_path / "other", None)
    for f in store.list():
        if f.run_id != user_elu_bn.run_id and f.data["label"] != user_elu_bn.data["label"]:
            stored_run(only_user, f.config, [h["test_accuracy"] for h in f.history])
    stored_run(only_user, user_elu_bn.config, [0.9, 0.91, 0.92, 0.93])
    found = _by_key(only_user)
    assert found["elu_worst"].agrees is False and found["elu_worst"].comment == "worst: ELU + BN"
    assert found["bn_elu"].ours.endswith("98% not reached in 4 epochs")


def test_missing_runs_are_listed(tmp_path):
    found = _by_key(RunStore(tmp_path / "empty", None))
    assert found["optimizers"].missing == list(OPTIMIZERS) and found["optimizers"].agrees is None
