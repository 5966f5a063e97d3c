import socket

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
