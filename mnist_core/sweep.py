"""Sweeps: a named grid of RunConfigs, trained one after the other into a store, resumably, or all
at once on a Ray cluster (``on_ray``).

``python -m mnist_core sweep --preset notebook`` reproduces the study notebook's grid at its
settings (SGD, lr 0.01, batch 70, 60 epochs). Settings already finished in the store are skipped,
so an interrupted sweep continues where it stopped.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from . import tuning
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
        # The same two batch-norm nets evaluated as the notebook did (test-batch statistics).
        base.replace(batch_norm=True, bn_eval="batch"), base.replace(activation="elu", batch_norm=True, bn_eval="batch"),
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


PRESETS: dict[str, Callable[[int], list[RunConfig]]] = {
    "notebook": notebook, "regularisation": regularisation,
    # Fair optimizers (see tuning.py): first the rate grid on the validation split, then each
    # optimizer's chosen rate for the full run; "tuned" reads the tuning runs from the store.
    "tuning": tuning.tuning_grid, "tuned": None}
DEFAULT_EPOCHS = {"tuning": tuning.TUNING_EPOCHS}


def preset_epochs(preset: str, epochs: int | None) -> int:
    return epochs or DEFAULT_EPOCHS.get(preset, NOTEBOOK_EPOCHS)


def settings(preset: str, epochs: int, store) -> list[RunConfig]:
    """The preset's settings; "tuned" has one per optimizer whose tuning grid is in the store."""
    if preset == "tuned":
        return tuning.tuned_grid(store.list(), epochs)
    return PRESETS[preset](epochs)


def group_of(preset: str, config: RunConfig) -> str | None:
    """The seed group a sweep run belongs to: stable across sessions, so a resumed sweep (or another
    machine's) adds to the same group. Named by the settings without the seed."""
    return f"{preset}-{config.replace(seed=RunConfig().seed).settings_hash()}"


# The two 1568-500 cells cost as much as the other twelve together; with several seeds they get at
# most this many (the spread of a big net's curves is no larger than a small one's).
LARGE_PARAMS, LARGE_SEEDS = 1_000_000, 3


def plan(preset: str, epochs: int, store, seeds: int = 1) -> tuple[list[RunConfig], list[RunConfig]]:
    """(to train, already done): settings finished in the store are not trained again. With
    ``seeds`` > 1 every setting is trained with that many seeds (large nets with at most LARGE_SEEDS),
    round by round, so an interrupted sweep leaves every setting with about as many seeds."""
    cells = settings(preset, epochs, store)
    rounds = [[c.replace(seed=c.seed + i) for c in cells
               if i < (min(seeds, LARGE_SEEDS) if seeds > 1 and c.param_count() > LARGE_PARAMS else seeds)]
              for i in range(seeds)]
    configs = [c for r in rounds for c in r]
    done = [c for c in configs if store.find_settings(c)]
    return [c for c in configs if c not in done], done


def on_ray(store, todo: list[RunConfig], tags: list[str], data_path: str | None, save_model: bool,
           stop: threading.Event, say: Callable[[str], None],
           group: Callable[[RunConfig], str | None] = lambda c: None) -> int | None:
    """Train ``todo`` as Ray tasks, as many at once as the cluster has CPU slots, through the job queue
    the app uses (with the Ray runner in this process); each run is stored here as it streams back.
    Returns how many did not finish, or None (having said why) if there is no cluster to train on.
    ``stop`` set: every run stops after its current step, keeping its epochs."""
    from .cluster import RayTrainer
    from .jobs import JobQueue
    from .limits import Limits
    from .runner import TrainerLost

    if not todo:
        return 0
    try:
        trainer = RayTrainer()
    except TrainerLost as e:
        say(f"error: {e}")
        return None
    slots = max(1, min(trainer.cpus, len(todo)))
    say(f"Ray cluster: {trainer.cpus} CPU slots; training {slots} at a time")

    def run(config, store, run_id, on_event, stop, data_path=None):
        return trainer(config, store, run_id, on_event, stop, data_path, save_model=save_model)
    queue = JobQueue(store, max_concurrent=slots, runner=run, data_path=data_path, limits=Limits())
    jobs = [queue.submit(c, tags=tags, group=group(c)) for c in todo]
    reported, ended, failed = dict.fromkeys(range(len(jobs)), 0), set(), 0
    pct = lambda x: "-" if x is None else f"{x * 100:.2f}%"  # noqa: E731
    while len(ended) < len(jobs):
        if stop.is_set():
            for job in jobs:
                queue.cancel(job.run_id)  # running ones stop after their step, keeping their epochs
        for i, job in enumerate(jobs):
            for e in job.history[reported[i]:]:
                if e["epoch"] % 10 == 0 or e["epoch"] == job.config.epochs:
                    say(f"  [{i + 1}/{len(jobs)}] {job.config.label}: epoch {e['epoch']}/{job.config.epochs} "
                        f"test acc {pct(e['test_accuracy'])}, {e['train_seconds']:.1f} s")
            reported[i] = len(job.history)
            if job.state == "done" and i not in ended:
                ended.add(i)
                failed += job.status != "finished"
                best = store.get(job.run_id).data.get("best_test_accuracy") if job.history else None
                say(f"[{i + 1}/{len(jobs)}] {job.config.label}: {job.status}, best {pct(best)}"
                    + (f" ({job.reason})" if job.status == "failed" and job.reason else ""))
        time.sleep(0.2)
    queue.close()
    return failed
