"""Fair optimizers: each one's learning rate chosen on a validation split, never on the test set.

The notebook ran every optimizer at SGD's rate of 0.01, ten times what Adam and RMSprop usually take,
so they look worse for a reason its claim is not about (Wilson et al. 2017: adaptive methods generalise
worse *even when tuned*). Here each optimizer gets a small log-spaced grid of rates around its usual
one, trained with the notebook's own split (5,000 training images held out, which the weights never
see); the rate with the best validation accuracy at the end of the short tuning run is chosen, and
then that setting is trained for the full 60 epochs with several seeds (``sweep --preset tuned``).

``choose`` reads only ``val_accuracy``: the test set plays no part in the choice.
"""

from __future__ import annotations

from typing import Iterable

from .config import OPTIMIZERS, RunConfig

VALIDATION = 5000  # the notebook's MNIST loader: 55,000 to train, 5,000 to validate
TUNING_EPOCHS = 20  # a third of the final run: enough to rank rates a factor of ~3 apart
# Half-decade steps around each optimizer's usual rate (Keras' defaults: SGD 0.01, RMSprop and Adam
# 0.001, Adagrad 0.001 but it is usually run far higher). A grid whose best rate is at its edge says
# only "at least this much": SGD's and Adagrad's were extended to 1.0 when 0.3 won.
GRIDS: dict[str, tuple[float, ...]] = {
    "sgd": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
    "momentum": (0.001, 0.003, 0.01, 0.03, 0.1),
    "nesterov": (0.001, 0.003, 0.01, 0.03, 0.1),
    "adagrad": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
    "rmsprop": (0.0001, 0.0003, 0.001, 0.003, 0.01),
    "adam": (0.0001, 0.0003, 0.001, 0.003, 0.01),
}
BASE = RunConfig(validation=VALIDATION)  # the notebook's 300-100 ReLU, batch 70, with the split


def tuning_grid(epochs: int = TUNING_EPOCHS) -> list[RunConfig]:
    """Every optimizer at every rate of its grid, one seed, with the validation split."""
    return [BASE.replace(optimizer=o, learning_rate=lr, epochs=epochs) for o in OPTIMIZERS for lr in GRIDS[o]]


def _val_score(run) -> float | None:
    """The tuning run's final validation accuracy (None if it has none, or did not finish)."""
    if run.status != "finished" or not run.history:
        return None
    value = run.history[-1].get("val_accuracy")
    return value if isinstance(value, (int, float)) else None


def choose(runs: Iterable) -> dict[str, dict]:
    """Per optimizer whose whole grid has been trained: {"rate", "val_accuracy", "scores": {rate: val}}.

    Only finished tuning runs (the grid's settings, any seed, TUNING_EPOCHS or more epochs) count;
    a diverged rate scores nothing and cannot win."""
    wanted = {(c.optimizer, c.learning_rate): c for c in tuning_grid()}
    scores: dict[str, dict[float, float]] = {o: {} for o in OPTIMIZERS}
    for run in runs:
        c = run.config
        key = (c.optimizer, c.learning_rate)
        if key not in wanted or c.replace(epochs=TUNING_EPOCHS, seed=BASE.seed) != wanted[key]:
            continue
        if run.status == "diverged":
            scores[c.optimizer].setdefault(c.learning_rate, float("-inf"))
        elif (score := _val_score(run)) is not None:
            scores[c.optimizer][c.learning_rate] = max(score, scores[c.optimizer].get(c.learning_rate, score))
    chosen = {}
    for o, by_rate in scores.items():
        if set(by_rate) != set(GRIDS[o]):
            continue  # the grid is not complete: no choice yet
        rate = max(by_rate, key=lambda r: (by_rate[r], -r))  # a tie goes to the smaller rate
        chosen[o] = {"rate": rate, "val_accuracy": by_rate[rate], "scores": dict(sorted(by_rate.items()))}
    return chosen


def tuned(optimizer: str, rate: float, epochs: int = 60) -> RunConfig:
    """The final setting of a tuned optimizer: the notebook's network at the chosen rate, with the split."""
    return BASE.replace(optimizer=optimizer, learning_rate=rate, epochs=epochs)


def tuned_grid(runs: Iterable, epochs: int) -> list[RunConfig]:
    """The tuned setting of every optimizer whose grid is complete."""
    return [tuned(o, c["rate"], epochs) for o, c in choose(runs).items()]
