import dataclasses
import json
import socket
import statistics

import pytest

from mnist_core import estimate
from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from tests.helpers import stored_run


def test_estimate_scales_with_the_work(tmp_path):
    base = estimate.estimate(RunConfig(epochs=10))
    bigger = estimate.estimate(RunConfig(hidden=(1568, 500), epochs=10))
    fewer = estimate.estimate(RunConfig(train_examples=6000, epochs=10))
    assert 0.3 < base.seconds_per_epoch < 1.5 and "no runs on this machine" in base.basis
    assert bigger.seconds_per_epoch > 5 * base.seconds_per_epoch
    assert fewer.seconds_per_epoch < base.seconds_per_epoch / 5
    assert base.total_seconds > 10 * base.seconds_per_epoch


def test_estimate_uses_this_machines_runs(tmp_path):
    store = RunStore(tmp_path)
    run = stored_run(store, RunConfig(epochs=2), [0.9, 0.95], seconds_per_epoch=2.0)  # a slow machine
    assert run.data["environment"]["host"] == socket.gethostname()
    guess = estimate.estimate(RunConfig(epochs=2), store.list())
    assert abs(guess.seconds_per_epoch - 2.0) < 1e-9 and "measured on 1 run" in guess.basis


def test_estimate_ignores_other_machines_runs(tmp_path):
    # Runs copied from a faster or slower machine say nothing about this one's speed.
    store = RunStore(tmp_path)
    here = stored_run(store, RunConfig(epochs=2), [0.9, 0.95], seconds_per_epoch=2.0)
    elsewhere = stored_run(store, RunConfig(epochs=2, seed=1), [0.9, 0.95], seconds_per_epoch=20.0)
    store.update(elsewhere.run_id, environment={**elsewhere.data["environment"], "host": "a-gpu-server"})
    guess = estimate.estimate(RunConfig(epochs=2), store.list())
    assert abs(guess.seconds_per_epoch - 2.0) < 1e-9 and "measured on 1 run on this machine" in guess.basis
    store.delete(here.run_id)
    alone = estimate.estimate(RunConfig(epochs=2), store.list())
    assert alone == estimate.estimate(RunConfig(epochs=2)) and "no runs on this machine" in alone.basis


def test_estimate_takes_the_median_of_finished_runs_only(tmp_path):
    store = RunStore(tmp_path)
    for spe in (1.0, 2.0, 9.0):  # one outlier (a busy moment) does not move the median
        stored_run(store, RunConfig(epochs=2), [0.9, 0.95], seconds_per_epoch=spe)
    stored_run(store, RunConfig(epochs=2), [0.9, 0.95], seconds_per_epoch=50.0, status="stopped")
    guess = estimate.estimate(RunConfig(epochs=4), store.list())
    assert abs(guess.seconds_per_epoch - 2.0) < 1e-9 and "measured on 3 runs" in guess.basis
    assert abs(guess.total_seconds - (estimate.COMPILE_SECONDS + 4 * 2.0)) < 1e-9


def test_the_work_of_an_epoch_counts_every_matrix_product():
    # 784-300-100-10: 235,200 + 30,000 + 1,000 multiply-adds per example.
    assert estimate.macs_per_example(RunConfig()) == 266_200
    assert estimate.macs_per_example(RunConfig(pca=50)) == 50 * 300 + 30_000 + 1_000
    assert estimate.macs_per_example(RunConfig(pca_variance=0.9)) == 154 * 300 + 30_000 + 1_000  # a guess
    assert estimate.macs_per_example(RunConfig(pca_variance=0.9), input_size=87) == 87 * 300 + 30_000 + 1_000
    # 100 examples in batches of 30: three steps (the partial batch is dropped), each paying the overhead
    # and the optimizer's update of every weight besides the products of the batch.
    c = RunConfig(hidden=(10,), train_examples=100, batch_size=30)
    macs = 784 * 10 + 10 * 10
    per_step = estimate.STEP_OVERHEAD + estimate.WEIGHT_UPDATE * macs + 30 * macs
    assert estimate.epoch_cost(c) == 3 * per_step
    assert estimate.epoch_cost(c.replace(batch_norm=True)) == pytest.approx(3 * per_step * estimate.BN_FACTOR)
    small = 20 * 10 + 10 * 10
    assert estimate.epoch_cost(c, input_size=20) == 3 * (estimate.STEP_OVERHEAD + estimate.WEIGHT_UPDATE * small
                                                         + 30 * small)


def test_a_pca_run_is_timed_with_the_components_it_used(tmp_path):
    # A run that kept 20 components did less work per epoch than the 154 guessed before fitting:
    # its speed must be read with its own input size.
    store = RunStore(tmp_path)
    run = stored_run(store, RunConfig(pca_variance=0.8, epochs=2), [0.9, 0.95], seconds_per_epoch=1.0)
    store.update(run.run_id, pca={"components": 20, "explained_variance": 0.8, "fit_seconds": 0.1})
    same = estimate.estimate(RunConfig(pca_variance=0.8, epochs=2), store.list(), input_size=20)
    assert same.seconds_per_epoch == pytest.approx(1.0)


def test_only_the_newest_nine_runs_count(tmp_path):
    # The machine got faster (other work stopped): the five newest runs took 1 s an epoch, the fifteen
    # before them 100 s. Of the newest nine, most are fast, so the estimate is 1 s.
    store = RunStore(tmp_path)
    slow = [stored_run(store, RunConfig(epochs=1), [0.9], seconds_per_epoch=100.0) for _ in range(15)]
    fast = [stored_run(store, RunConfig(epochs=1), [0.9], seconds_per_epoch=1.0) for _ in range(5)]
    newest_first = fast[::-1] + slow[::-1]
    guess = estimate.estimate(RunConfig(epochs=1), newest_first)
    assert guess.seconds_per_epoch == pytest.approx(1.0) and "measured on 9 runs" in guess.basis


def test_a_calibration_on_disk_is_checked_before_it_is_believed(tmp_path):
    cal = estimate.save_calibration(tmp_path, 2e-10)
    assert estimate.load_calibration(tmp_path) == cal
    guess = estimate.estimate(RunConfig(epochs=2), calibration=cal)
    assert guess.seconds_per_epoch == pytest.approx(estimate.epoch_cost(RunConfig()) * 2e-10)
    assert "measured when the trainer started" in guess.basis
    for bad in ('{"speed": "NaN", "measured": "x", "host": "%s"}' % socket.gethostname(),
                '{"speed": -1, "measured": "x", "host": "%s"}' % socket.gethostname(),
                '{"speed": 2e-10, "measured": "x", "host": "another-machine"}',
                '{"speed": 2e-10, "measured": "x", "host": "%s", "step_seconds": -1}' % socket.gethostname(),
                '{"speed": 2e-10, "measured": "x", "host": "%s", "step_seconds": "Infinity"}' % socket.gethostname(),
                "not json", "[]", "x" * 20_000):
        (tmp_path / estimate.CALIBRATION_FILE).write_text(bad)
        assert estimate.load_calibration(tmp_path) is None, bad


def test_calibration_separates_the_fixed_price_of_a_step_from_the_work(monkeypatch, tmp_path):
    """A machine whose step costs 2 ms plus 1e-10 s per unit of work (so a small net is mostly fixed
    price): calibrating on two networks finds both numbers, and the estimates of a 64-unit net, of
    PCA-154 inputs and of the default are then right, where one scale fitted to the default alone
    underestimates the small net by more than a quarter."""
    import types

    import mnist_core.train as train_mod

    fixed, per_work = 2e-3, 1e-10

    def seconds_per_epoch(config, inputs=None):
        return config.train_examples // config.batch_size * (fixed + per_work * estimate.step_work(config, inputs))

    class Timed:  # what train() reports on that machine
        def __init__(self, config, **_):
            self.history = [{"train_seconds": seconds_per_epoch(config) * e} for e in range(1, config.epochs + 1)]

        def release(self):
            pass
    monkeypatch.setattr(train_mod, "train", Timed)
    speed, step = estimate.calibrate(types.SimpleNamespace(y_train=range(60_000)))
    assert speed == pytest.approx(per_work) and step == pytest.approx(fixed)
    cal = estimate.save_calibration(tmp_path, speed, step)
    assert estimate.load_calibration(tmp_path) == cal
    for config, inputs in ((RunConfig(hidden=(64,)), None), (RunConfig(pca=154), 154), (RunConfig(), None)):
        guess = estimate.estimate(config, input_size=inputs, calibration=cal)
        assert guess.seconds_per_epoch == pytest.approx(seconds_per_epoch(config, inputs), rel=1e-6), config.label
    # The one-network fit, for comparison: right for the default, more than a quarter short for 64 units.
    one = estimate.Calibration(seconds_per_epoch(RunConfig()) / estimate.epoch_cost(RunConfig()), "now", "here")
    assert estimate.estimate(RunConfig(), calibration=one).seconds_per_epoch == pytest.approx(seconds_per_epoch(RunConfig()))
    small = RunConfig(hidden=(64,))
    assert estimate.estimate(small, calibration=one).seconds_per_epoch < 0.75 * seconds_per_epoch(small)


# The configurations whose estimate is checked against a measured run: the default, a small net where
# the per-step overhead dominates, batch norm, PCA inputs, small and large batches. (Much bigger nets
# are not promised: see estimate.py.)
CHECKED = [RunConfig(), RunConfig(hidden=(64,)), RunConfig(activation="elu", batch_norm=True),
           RunConfig(pca=154), RunConfig(batch_size=20), RunConfig(batch_size=250)]


# A timing measurement, not a unit test: it is out of the default run (timing targets live in bench/).
# With the one-network calibration it missed, measured on the quiet 2-core CI machine on 2026-11-28: the
# default net 1.00, BN 1.20, but the small 64-unit net 0.68 and PCA-154 0.62 (one network cannot separate
# the fixed per-step cost from the per-weight work). Calibration now fits both on two networks (the unit
# test above checks the fit); this measurement needs a quiet machine. Run it with `make test-all`.
@pytest.mark.slow
def test_the_calibrated_estimate_is_within_a_quarter_of_the_measured_time(mnist):
    """On this machine, as it is loaded now: calibrate as the worker does at warm-up, then train, and
    compare. Each pair is measured back to back (a few seconds apart) so they see the same load; the
    median of five pairs per setting damps a load spike that hits only one side."""
    from mnist_core.train import train

    misses = {}
    for config in CHECKED:
        ratios = []
        for _ in range(5):
            speed, step = estimate.calibrate(mnist)
            run = train(config.replace(epochs=3, train_examples=100 * config.batch_size), dataset=mnist)
            run.release()
            h = run.history
            measured = statistics.median(b["train_seconds"] - a["train_seconds"] for a, b in zip(h, h[1:]))
            guess = estimate.estimate(config.replace(train_examples=100 * config.batch_size),
                                      input_size=(run.pca or {}).get("components"),
                                      calibration=estimate.Calibration(speed, "now", "here", step))
            ratios.append(guess.seconds_per_epoch / measured)
        misses[config.label] = statistics.median(ratios)
        if config == RunConfig() and abs(misses[config.label] - 1) > 0.1:
            # The default network is what calibrate times: a pair that disagrees on it by more than
            # 10% measures the machine's load, not the estimate. (Seen at load average 25 on 2 cores.)
            pytest.skip(f"the machine is too busy to time: the same network timed twice back to back "
                        f"differed by {abs(misses[config.label] - 1):.0%}")
    print("estimate / measured per setting:", {k: round(v, 2) for k, v in misses.items()})
    assert all(0.75 <= r <= 1.25 for r in misses.values()), misses


def _fake_machine(monkeypatch, per_step_seconds):
    """train() on a machine where a step of ``config`` takes ``per_step_seconds(config)``; records what
    it was asked to train."""
    import mnist_core.train as train_mod

    asked = []

    class Timed:
        def __init__(self, config, dataset=None, **_):
            asked.append((config, dataset))
            spe = config.train_examples // config.batch_size * per_step_seconds(config)
            self.history = [{"train_seconds": spe * e} for e in range(1, config.epochs + 1)]

        def release(self):
            pass
    monkeypatch.setattr(train_mod, "train", Timed)
    return asked


@pytest.mark.parametrize("images", [60_000, 1_000])
def test_calibration_trains_two_short_runs_on_the_dataset_it_is_given(monkeypatch, images):
    import types

    asked = _fake_machine(monkeypatch, lambda c: 2e-3 + 1e-10 * estimate.step_work(c))
    dataset = types.SimpleNamespace(y_train=range(images))
    speed, step = estimate.calibrate(dataset, epochs=3)
    assert speed == pytest.approx(1e-10) and step == pytest.approx(2e-3)  # also from a subset of 1,000 images
    n = min(images, estimate.CALIBRATION_STEPS * 70)
    assert [(c.hidden, c.epochs, c.train_examples) for c, _ in asked] == [((300, 100), 3, n), ((32,), 3, n)]
    assert all(d is dataset for _, d in asked)  # never loads MNIST again


@pytest.mark.parametrize("small_step", [1.0, 2.0], ids=["same time", "small slower"])
def test_a_load_spike_between_the_two_networks_falls_back_to_the_default_network_alone(monkeypatch, small_step):
    import types

    default_step = 1e-2
    _fake_machine(monkeypatch, lambda c: default_step * (small_step if c.hidden == (32,) else 1.0))
    speed, step = estimate.calibrate(types.SimpleNamespace(y_train=range(60_000)))
    assert step is None
    assert speed == pytest.approx(default_step / (estimate.STEP_OVERHEAD + estimate.step_work(RunConfig())))
    cal = estimate.Calibration(speed, "now", "here", step)
    assert estimate.estimate(RunConfig(), calibration=cal).seconds_per_epoch == pytest.approx(857 * default_step)


def test_a_calibration_is_saved_into_a_runs_folder_not_made_yet(tmp_path):
    folder = tmp_path / "new" / "runs"
    cal = estimate.save_calibration(folder, 2e-10, 0.0)
    assert estimate.load_calibration(folder) == cal and cal.step_seconds == 0.0  # no fixed price is believable


def test_the_believable_calibration_file_has_bounds(tmp_path):
    import json

    host = socket.gethostname()

    def load(**fields):
        (tmp_path / estimate.CALIBRATION_FILE).write_text(json.dumps({"measured": "x", "host": host, **fields}))
        return estimate.load_calibration(tmp_path)

    assert load(speed=1e-15) is None and load(speed=1e-5) is None and load(speed=2e-10) is not None
    assert load(speed=2e-10, measured="x" * 100).measured == "x" * 40
    # The size bound: 10,000 bytes are read, one more is not.
    text = json.dumps({"speed": 2e-10, "measured": "x", "host": host})
    (tmp_path / estimate.CALIBRATION_FILE).write_text(text.ljust(10_000))
    assert estimate.load_calibration(tmp_path) is not None
    (tmp_path / estimate.CALIBRATION_FILE).write_text(text.ljust(10_001))
    assert estimate.load_calibration(tmp_path) is None


def test_a_calibrated_estimate_counts_batch_norm_the_inputs_and_compilation_and_says_where_it_comes_from(tmp_path):
    cal = estimate.Calibration(1e-10, "now", socket.gethostname(), 2e-3)
    config = RunConfig(batch_norm=True, epochs=3)
    steps = config.train_examples // config.batch_size
    per_epoch = steps * (2e-3 + 1e-10 * estimate.step_work(config)) * estimate.BN_FACTOR
    guess = estimate.estimate(config, calibration=cal)
    assert guess.seconds_per_epoch == pytest.approx(per_epoch)
    assert guess.total_seconds == pytest.approx(estimate.COMPILE_SECONDS + 3 * per_epoch)
    assert guess.basis == "this machine's speed measured when the trainer started"
    assert estimate.estimate(config, calibration=dataclasses.replace(cal, step_seconds=None)).basis == guess.basis
    # a PCA-by-variance run knows its input size only once PCA has chosen it
    by_variance = RunConfig(pca_variance=0.9)
    assert estimate.estimate(by_variance, input_size=50, calibration=cal).seconds_per_epoch < \
        estimate.estimate(by_variance, calibration=cal).seconds_per_epoch
    assert estimate.estimate(RunConfig()).basis == "no runs on this machine yet: a guess from the development machine"
    # the fixed price of a step is under a second, or the file is not believed
    for step, believed in ((0.999, True), (1.0, False)):
        (tmp_path / estimate.CALIBRATION_FILE).write_text(json.dumps(
            {"speed": 2e-10, "measured": "x", "host": socket.gethostname(), "step_seconds": step}))
        assert (estimate.load_calibration(tmp_path) is not None) == believed, step
