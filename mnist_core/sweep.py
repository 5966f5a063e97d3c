"""Sweeps: a named grid of RunConfigs, trained one after the other into a store, resumably.

``python -m mnist_core sweep --preset notebook`` reproduces the study notebook's grid at its
settings (SGD, lr 0.01, batch 70, 60 epochs). Settings already finished in the store are skipped,
so an interrupted sweep continues where it stopped.
"""

from __future__ import annotations

from typing import Callable

from .config import OPTIMIZERS, RunConfig

NOTEBOOK_EPOCHS = 60


def notebook(epochs: int = NOTEBOOK_EPOCHS) -> list[RunConfig]:
    """The notebook's comparisons, each a list of runs; shared runs appear once."""
    base = RunConfig(epochs=epochs)  # 300-100, relu, SGD 0.01, batch 70: the notebook's default
    grid = [
        # Topologies on raw pixels: bigger than the input, a bit smaller, much smaller.
        base.replace(hidden=(1568, 500)), base.replace(hidden=(500, 150)), base, base.replace(hidden=(100, 30)),
        # PCA to 154 components (95% of the variance) vs raw, and the same-ratio pair.
        base.replace(pca=154), base.replace(hidden=(1568, 500), pca=154),
        # ReLU / ELU, each with and without batch norm.
        base.replace(activation="elu"), base.replace(batch_norm=True),
        base.replace(activation="elu", batch_norm=True),
        # The six optimizers on 300-100 ReLU.
        *[base.replace(optimizer=o) for o in OPTIMIZERS],
    ]
    unique: list[RunConfig] = []
    for c in grid:
        if c not in unique:
            unique.append(c)
    return unique


def regularisation(epochs: int = NOTEBOOK_EPOCHS) -> list[RunConfig]:
    """The chapter after the notebook's, one knob at a time on the notebook's network, each with the
    notebook loader's 5,000 validation examples so overfitting shows as a gap between the curves."""
    base = RunConfig(epochs=epochs, validation=5000)
    return [base,
            base.replace(init="zeros"),  # symmetric weights: every unit of a layer learns the same thing
            base.replace(dropout=0.2), base.replace(dropout=0.5),
            base.replace(l2=1e-4), base.replace(l1=1e-5), base.replace(max_norm=2.0), base.replace(clip_norm=1.0),
            *[base.replace(schedule=s) for s in ("exponential", "step", "cosine", "one_cycle", "plateau")],
            base.replace(patience=5)]


PRESETS: dict[str, Callable[[int], list[RunConfig]]] = {"notebook": notebook, "regularisation": regularisation}


def plan(preset: str, epochs: int, store) -> tuple[list[RunConfig], list[RunConfig]]:
    """(to train, already done): settings finished in the store are not trained again."""
    configs = PRESETS[preset](epochs)
    done = [c for c in configs if store.find_settings(c)]
    return [c for c in configs if c not in done], done
