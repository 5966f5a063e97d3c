"""What a lesson can measure on a run, read off a stored run's record and curves."""

import pytest

from mnist_core import measures
from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from tests.helpers import stored_run


@pytest.fixture
def run(tmp_path):
    store = RunStore(tmp_path / "user", None)
    r = stored_run(store, RunConfig(epochs=4), [0.95, 0.972, 0.969, 0.981], seconds_per_epoch=0.5)
    store.update(r.run_id, param_count=266610, pca={"components": 154, "explained_variance": 0.95,
                                                    "fit_seconds": 0.28})
    return store.get(r.run_id)


def test_measures_read_the_curve_cut_to_the_epochs_asked(run):
    m = measures.measure
    assert m("best_accuracy", run, 4) == 0.981 and m("best_accuracy", run, 3) == 0.972
    assert m("final_accuracy", run, 3) == 0.969
    assert m("epochs_to_97", run, 4) == 2 and m("seconds_to_97", run, 4) == 1.0
    assert m("epochs_to_98", run, 3) is None and m("epochs_to_98", run, 4) == 4
    assert m("seconds_per_epoch", run, 4) == 0.5 and m("train_seconds", run, 2) == 1.0
    assert m("train_seconds", run, 4) == 2.0
    assert m("params", run, 1) == 266610
    assert m("pca_variance", run, 1) == 0.95 and m("pca_fit_seconds", run, 1) == 0.28
    assert m("overfit_gap", run, 4) == pytest.approx(0.0)  # stored_run writes train = test accuracy


def test_values_read_as_people_read_them():
    f = measures.format_value
    assert f("best_accuracy", 0.97871) == "97.87%"
    assert f("seconds_per_epoch", 0.6612) == "0.66 s" and f("train_seconds", 85.1) == "85 s"
    assert f("epochs_to_97", 24.0) == "24 epochs" and f("seconds_to_98", None) == "not reached"
    assert f("overfit_gap", 10.93) == "10.9 points" and f("params", 266610.0) == "266,610"
    assert f("epochs_to_97", None) == "not reached" and f("best_accuracy", None) == "—"  # does not apply
    assert f("train_seconds", 9.994) == "9.99 s" and f("train_seconds", 10.0) == "10 s"


def test_a_run_without_pca_has_no_pca_measures(tmp_path):
    run = stored_run(RunStore(tmp_path, None), RunConfig(epochs=1), [0.95])
    assert measures.measure("pca_variance", run, 1) is None and measures.measure("pca_fit_seconds", run, 1) is None


def test_a_shipped_run_takes_its_time_from_the_timing_file_and_yours_from_its_own_clock(tmp_path):
    import json

    from mnist_core import measures, timing
    from mnist_core.config import RunConfig
    from mnist_core.store import RunStore
    from tests.helpers import stored_run

    config = RunConfig(epochs=3)
    ref = stored_run(RunStore(tmp_path / "ref"), config, [0.95, 0.975, 0.98], seconds_per_epoch=2.0)
    (tmp_path / "ref" / timing.FILE).write_text(json.dumps({"seconds_per_epoch": {timing.key(config): 0.5}}))
    store = RunStore(tmp_path / "user", tmp_path / "ref")
    mine = stored_run(store, config, [0.95, 0.975, 0.98], seconds_per_epoch=2.0)
    shipped = next(r for r in store.list() if r.run_id == ref.run_id)
    assert measures.measure("seconds_per_epoch", shipped, 3) == 0.5
    assert measures.measure("seconds_to_97", shipped, 3) == 1.0  # reached at epoch 2
    assert measures.measure("train_seconds", shipped, 3) == 1.5
    assert measures.measure("seconds_per_epoch", mine, 3) == 2.0
    assert measures.measure("seconds_to_97", mine, 3) == 4.0
