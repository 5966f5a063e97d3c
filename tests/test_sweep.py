import os
import subprocess
import sys

from mnist_core import sweep
from mnist_core.store import RunStore
from tests.helpers import stored_run


def test_the_notebook_grid():
    grid = sweep.notebook(60)
    labels = [c.label for c in grid]
    assert len(grid) == 16 and len(set(labels)) == 16 and all(c.epochs == 60 for c in grid)
    for expected in ("1568-500 relu sgd", "500-150 relu sgd", "300-100 relu sgd", "100-30 relu sgd",
                     "300-100 relu pca154 sgd", "1568-500 relu pca154 sgd", "300-100 elu sgd",
                     "300-100 relu BN sgd", "300-100 elu BN sgd", "300-100 elu BN(batch-eval) sgd", "300-100 relu nesterov", "300-100 relu adam"):
        assert expected in labels
    assert all((c.learning_rate, c.batch_size) == (0.01, 70) for c in grid)


def test_finished_settings_are_skipped_and_others_are_not(tmp_path):
    store = RunStore(tmp_path)
    grid = sweep.notebook(2)
    stored_run(store, grid[0], [0.9, 0.95])  # finished
    stored_run(store, grid[1], [0.9], status="stopped")  # stopped: trained again
    stored_run(store, grid[2].replace(epochs=3), [0.9, 0.95, 0.96])  # other epoch count: trained again
    todo, done = sweep.plan("notebook", 2, store)
    assert done == [grid[0]] and todo == grid[1:]


def test_sweep_cli_resumes(tmp_path, mnist_path):
    store = RunStore(tmp_path)
    grid = sweep.notebook(1)
    for c in grid:
        if c.hidden != (100, 30):
            stored_run(store, c, [0.9])
    proc = subprocess.run([sys.executable, "-m", "mnist_core", "--runs-dir", str(tmp_path), "sweep",
                           "--epochs", "1", "--no-model"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MNIST_DATA": str(mnist_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "16 settings, 15 already in" in proc.stdout and "1 to train" in proc.stdout
    trained = [r for r in store.list() if r.config.hidden == (100, 30)]
    assert len(trained) == 1 and trained[0].status == "finished" and trained[0].model_path is None
    assert trained[0].data["tags"] == ["notebook"]


def test_the_regularisation_grid_varies_one_toolkit_knob_at_a_time():
    from mnist_core.config import RunConfig

    grid = sweep.regularisation(epochs=10)
    base = RunConfig(epochs=10, validation=5000)
    assert grid[0] == base and len(set(grid)) == len(grid) == 14
    for c in grid[1:]:
        changed = {k for k, v in c.to_dict().items() if v != base.to_dict()[k]}
        assert len(changed) == 1, changed
    assert {c.schedule for c in grid} == {"constant", "exponential", "step", "cosine", "one_cycle", "plateau"}


def test_seeds_train_every_setting_round_by_round_and_the_big_nets_three_times(tmp_path):
    store = RunStore(tmp_path, reference_dir=False)
    grid = sweep.notebook(2)
    stored_run(store, grid[2], [0.9, 0.95])  # seed 42 of 300-100 is there already
    todo, done = sweep.plan("notebook", 2, store, seeds=5)
    assert done == [grid[2]]
    assert len(todo) + len(done) == 14 * 5 + 2 * 3
    assert [c.seed for c in todo[:len(grid) - 1]] == [42] * (len(grid) - 1)  # round 1 first, then 43, ...
    big = [c for c in todo if c.hidden == (1568, 500)]
    assert sorted(c.seed for c in big) == [42, 42, 43, 43, 44, 44]
    groups = {sweep.group_of("notebook", c) for c in todo + done}
    assert len(groups) == len(grid)  # one group per setting, whatever the seed


def test_sweep_cli_puts_seeds_in_one_group_and_adds_runs_stored_before(tmp_path, mnist_path):
    store = RunStore(tmp_path, reference_dir=False)
    for c in sweep.notebook(1):
        for seed in (42, 43):
            if not (c.hidden == (100, 30) and seed == 43):
                stored_run(store, c.replace(seed=seed), [0.9])
    proc = subprocess.run([sys.executable, "-m", "mnist_core", "--runs-dir", str(tmp_path), "sweep",
                           "--epochs", "1", "--seeds", "2", "--no-model", "--data", str(mnist_path)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MNIST_REFERENCE_RUNS": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1 to train" in proc.stdout
    small = [r for r in store.list() if r.config.hidden == (100, 30)]
    assert sorted(r.config.seed for r in small) == [42, 43]
    assert len({r.data["group"] for r in small}) == 1 and small[0].data["group"]


def test_a_setting_another_sweep_is_training_is_left_to_it(tmp_path, mnist_path):
    """Two sweeps on one runs folder share the work instead of training the same settings twice."""
    store = RunStore(tmp_path, reference_dir=False)
    grid = sweep.notebook(1)
    for c in grid:
        if c.hidden != (100, 30):
            stored_run(store, c, [0.9])
    busy = store.create(grid[3])  # 100-30: another live process (this one) is training it
    store.update(busy, status="running")
    proc = subprocess.run([sys.executable, "-m", "mnist_core", "--runs-dir", str(tmp_path), "sweep",
                           "--epochs", "1", "--no-model", "--data", str(mnist_path)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "MNIST_REFERENCE_RUNS": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "100-30 relu sgd: done or being trained by another sweep" in proc.stdout
    assert [r.status for r in store.list() if r.config.hidden == (100, 30)] == ["running"]
