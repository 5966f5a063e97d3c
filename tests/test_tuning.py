import pytest

from mnist_core import sweep, tuning
from mnist_core.config import OPTIMIZERS
from mnist_core.store import RunStore


class _NoTestSet(dict):
    """A history entry that fails the test the moment anything reads a test-set number."""

    def __getitem__(self, key):
        if str(key).startswith("test_"):
            pytest.fail(f"the tuning choice read {key}: the test set must play no part in it")
        return super().__getitem__(key)

    def get(self, key, default=None):
        return self[key] if key in self else default


class _Run:
    def __init__(self, config, val, test, status="finished"):
        self.config, self.status = config, status
        self.history = [_NoTestSet(epoch=1, val_accuracy=val, test_accuracy=test)]


def _grid_runs(best_val_rate: dict[str, float], best_test_rate: dict[str, float]) -> list[_Run]:
    """Every grid run, the validation and test sets preferring different rates."""
    return [_Run(c, val=0.99 if c.learning_rate == best_val_rate[c.optimizer] else 0.95,
                 test=0.99 if c.learning_rate == best_test_rate[c.optimizer] else 0.95)
            for c in tuning.tuning_grid()]


def test_each_optimizer_takes_the_rate_with_the_best_validation_accuracy_never_the_test_sets():
    by_val = {o: tuning.GRIDS[o][1] for o in OPTIMIZERS}
    by_test = {o: tuning.GRIDS[o][3] for o in OPTIMIZERS}
    chosen = tuning.choose(_grid_runs(by_val, by_test))
    assert {o: c["rate"] for o, c in chosen.items()} == by_val
    assert all(c["val_accuracy"] == 0.99 and len(c["scores"]) == len(tuning.GRIDS[o]) for o, c in chosen.items())


def test_an_incomplete_grid_chooses_nothing_and_a_diverged_rate_cannot_win():
    runs = _grid_runs({o: tuning.GRIDS[o][0] for o in OPTIMIZERS}, {o: tuning.GRIDS[o][0] for o in OPTIMIZERS})
    runs = [r for r in runs if not (r.config.optimizer == "adam" and r.config.learning_rate == 0.01)]
    for r in runs:
        if r.config.optimizer == "sgd" and r.config.learning_rate == tuning.GRIDS["sgd"][0]:
            r.status = "diverged"
    chosen = tuning.choose(runs)
    assert "adam" not in chosen  # one rate missing: no choice yet
    assert chosen["sgd"]["rate"] != tuning.GRIDS["sgd"][0] and chosen["sgd"]["val_accuracy"] == 0.95


def test_runs_outside_the_grid_do_not_count():
    runs = _grid_runs({o: tuning.GRIDS[o][2] for o in OPTIMIZERS}, {o: tuning.GRIDS[o][2] for o in OPTIMIZERS})
    stray = _Run(tuning.tuned("sgd", tuning.GRIDS["sgd"][4]).replace(validation=1000, epochs=20), val=1.0, test=1.0)
    assert tuning.choose(runs + [stray])["sgd"]["rate"] == tuning.GRIDS["sgd"][2]


def test_the_tuned_preset_trains_each_chosen_rate_with_seeds_as_one_group(tmp_path):
    from tests.helpers import stored_run

    store = RunStore(tmp_path, reference_dir=False)
    for c in tuning.tuning_grid():
        run = stored_run(store, c, [0.9])
        better = c.learning_rate == tuning.GRIDS[c.optimizer][1]
        store.update(run.run_id, change=lambda d, b=better: d["history"][-1].update(val_accuracy=0.97 if b else 0.9))
    todo, done = sweep.plan("tuned", 60, store, seeds=5)
    assert not done and len(todo) == 6 * 5
    assert {(c.optimizer, c.learning_rate) for c in todo} == {(o, tuning.GRIDS[o][1]) for o in OPTIMIZERS}
    assert all(c.validation == 5000 and c.epochs == 60 for c in todo)
    assert sorted({c.seed for c in todo}) == [42, 43, 44, 45, 46]
    assert len({sweep.group_of("tuned", c) for c in todo}) == 6


def test_only_finished_tuning_runs_are_scored():
    runs = _grid_runs({o: tuning.GRIDS[o][1] for o in OPTIMIZERS}, {o: tuning.GRIDS[o][1] for o in OPTIMIZERS})
    for r in runs:  # a stopped run with a high validation accuracy at its last epoch does not win
        if r.config.optimizer == "adam" and r.config.learning_rate == tuning.GRIDS["adam"][4]:
            r.status, r.history[-1]["val_accuracy"] = "stopped", 0.999
    assert "adam" not in tuning.choose(runs)  # its rate has no score: the grid is not complete


def test_the_tuned_setting_trains_the_notebooks_60_epochs_or_as_many_as_asked():
    assert tuning.tuned("adam", 0.001) == tuning.BASE.replace(optimizer="adam", learning_rate=0.001, epochs=60)
    runs = _grid_runs({o: tuning.GRIDS[o][1] for o in OPTIMIZERS}, {o: tuning.GRIDS[o][1] for o in OPTIMIZERS})
    assert {c.epochs for c in tuning.tuned_grid(runs, 30)} == {30}


def test_the_tuning_grid_trains_as_many_epochs_as_asked():
    assert {c.epochs for c in tuning.tuning_grid()} == {tuning.TUNING_EPOCHS}
    assert {c.epochs for c in tuning.tuning_grid(5)} == {5}


def test_any_seed_and_length_of_a_grid_setting_counts_and_its_best_seed_scores():
    by_val = {o: tuning.GRIDS[o][1] for o in OPTIMIZERS}
    runs = _grid_runs(by_val, by_val)
    best = tuning.GRIDS["adam"][3]
    # adam at another rate: a longer run with another seed, twice (the better one scores), first in the list
    extra = [_Run(tuning.tuned("adam", best, epochs=30).replace(seed=43), val=0.999, test=0.9),
             _Run(tuning.tuned("adam", best, epochs=30).replace(seed=44), val=0.5, test=0.9)]
    stray = _Run(tuning.tuned("sgd", tuning.GRIDS["sgd"][4]).replace(validation=1000, epochs=20), val=1.0, test=1.0)
    chosen = tuning.choose([stray, *extra, *runs])
    assert chosen["adam"]["rate"] == best and chosen["adam"]["val_accuracy"] == 0.999
    assert chosen["sgd"]["rate"] == by_val["sgd"]


def test_an_incomplete_grid_does_not_hold_up_the_others_and_a_tie_goes_to_the_smaller_rate():
    runs = _grid_runs({o: tuning.GRIDS[o][1] for o in OPTIMIZERS}, {o: tuning.GRIDS[o][1] for o in OPTIMIZERS})
    runs = [r for r in runs if not (r.config.optimizer == OPTIMIZERS[0] and r.config.learning_rate == 0.01)]
    for r in runs:
        if r.config.optimizer == "adam":
            r.history[-1]["val_accuracy"] = 0.97  # every rate ties
    chosen = tuning.choose(runs)
    assert OPTIMIZERS[0] not in chosen and chosen["adam"]["rate"] == tuning.GRIDS["adam"][0]
