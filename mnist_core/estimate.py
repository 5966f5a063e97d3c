"""How long will a run take? An estimate from runs already measured on this machine.

The cost of an epoch is roughly ``steps * (overhead + batch * multiply-adds per example)``: every step
pays a fixed price (launching the step, the optimizer's update) plus the matrix products, which grow
with the batch and the weights. The machine's speed (seconds per unit of that cost) is read off
the stored runs of this host; with none yet, a figure measured on the 2-core development machine
is used (about 0.55 s per epoch of the notebook's network).
"""

from __future__ import annotations

import socket
import statistics
from dataclasses import dataclass
from typing import Sequence

from .config import RunConfig
from .store import Run

STEP_OVERHEAD = 1_000_000  # multiply-adds' worth of fixed cost per step (measured: ~30 us)
BN_FACTOR = 1.45  # batch norm's extra work per multiply-add (measured: BN+ELU epoch / ReLU epoch)
DEFAULT_SPEED = 0.55 / (857 * (STEP_OVERHEAD + 70 * 266_200))  # seconds per cost unit
COMPILE_SECONDS = 1.5  # tracing and XLA compilation before the first epoch


@dataclass(frozen=True)
class Estimate:
    seconds_per_epoch: float
    total_seconds: float
    basis: str  # where the speed came from, for the UI to say


def macs_per_example(config: RunConfig, input_size: int | None = None) -> int:
    sizes = [input_size or (config.pca or 154 if config.uses_pca else 784), *config.hidden, 10]
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


def epoch_cost(config: RunConfig, input_size: int | None = None) -> float:
    steps = config.train_examples // config.batch_size
    per_step = STEP_OVERHEAD + config.batch_size * macs_per_example(config, input_size)
    return steps * per_step * (BN_FACTOR if config.batch_norm else 1.0)


def estimate(config: RunConfig, runs: Sequence[Run] = (), input_size: int | None = None) -> Estimate:
    host = socket.gethostname()
    speeds = []
    for r in runs:
        if r.status != "finished" or not r.history or (r.data.get("environment") or {}).get("host") != host:
            continue
        c = r.config
        pca = r.data.get("pca") or {}
        speeds.append(r.history[-1]["train_seconds"] / len(r.history) / epoch_cost(c, pca.get("components")))
        if len(speeds) == 9:  # the newest few are enough, and reflect the machine as it is now
            break
    speed = statistics.median(speeds) if speeds else DEFAULT_SPEED
    basis = f"measured on {len(speeds)} run{'s' * (len(speeds) != 1)} on this machine" if speeds \
        else "no runs on this machine yet: a guess from the development machine"
    per_epoch = epoch_cost(config, input_size) * speed
    return Estimate(per_epoch, COMPILE_SECONDS + per_epoch * config.epochs, basis)
