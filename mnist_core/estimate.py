"""How long will a run take? A cost model, scaled by this machine's speed measured at warm-up.

The cost of an epoch is roughly ``steps * (fixed + speed * (weights * update + batch * multiply-adds))``:
every step pays a fixed price (launching the compiled step, gathering the batch), the optimizer's
update of every weight (element-wise work, far slower per weight than a multiply-add inside a matrix
product), and the matrix products, which grow with the batch and the weights. Batch norm adds its own
element-wise work. The fixed price and the speed differ from one machine to the next and drift with
load, so both are measured where the training happens: the training worker, warming up, times the
compiled steps of two networks, the default and a small one (``calibrate``, about a second), and fits
the two numbers to them; they are written beside the user's runs (``CALIBRATION_FILE``). One network
alone cannot tell the fixed price from the per-weight work: calibrated on the default only, small
nets (64 units) were estimated at 0.68 of their measured time and PCA-154 inputs at 0.62, on a quiet
machine. Without a calibration (before the first worker has warmed up), the runs already stored for
this host are used, and without those a figure measured on the 2-core development machine.

The per-weight update's weight and batch norm's factor were fitted on this project's 2-core machine
from same-run ratios (each setting timed back to back with the default network): batch 20 0.68x the
default's step, batch 250 3.0x, BN 1.2x. Networks much bigger than 300-100 (1000-500) ran up to 1.5x
slower than the model says on the loaded machine and faster on a quiet one: how well two cores share a
large matrix product depends on what else runs, which the model cannot capture.
"""

from __future__ import annotations

import json
import math
import socket
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .config import RunConfig
from .runfile import write_json_atomic
from .store import Run, now_iso

STEP_OVERHEAD = 1_000_000  # multiply-adds' worth of fixed cost per step
WEIGHT_UPDATE = 28  # multiply-adds' worth of work per weight per step (the optimizer's update)
BN_FACTOR = 1.25  # batch norm's extra element-wise work (measured: BN epoch / plain epoch)
DEFAULT_SPEED = 0.55 / (857 * (STEP_OVERHEAD + WEIGHT_UPDATE * 266_610 + 70 * 266_200))  # s per cost unit
COMPILE_SECONDS = 1.5  # tracing and XLA compilation before the first epoch
CALIBRATION_FILE = ".calibration.json"  # in the user's runs folder; one per host that trains there
CALIBRATION_STEPS = 100  # steps of each calibration network timed per calibration epoch
SMALL = RunConfig(hidden=(32,))  # calibration's second network: mostly the fixed price of a step


@dataclass(frozen=True)
class Estimate:
    seconds_per_epoch: float
    total_seconds: float
    basis: str  # where the speed came from, for the UI to say


@dataclass(frozen=True)
class Calibration:
    speed: float  # seconds per cost unit (per unit of work, when step_seconds is known)
    measured: str  # when (ISO time)
    host: str
    step_seconds: float | None = None  # the fixed price of a step; None in files of the one-network fit


def macs_per_example(config: RunConfig, input_size: int | None = None) -> int:
    sizes = [input_size or (config.pca or 154 if config.uses_pca else 784), *config.hidden, 10]
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


def step_work(config: RunConfig, input_size: int | None = None) -> float:
    """A step's work past its fixed price, in multiply-adds' worth."""
    macs = macs_per_example(config, input_size)  # also the number of weights, give or take the biases
    return (WEIGHT_UPDATE + config.batch_size) * macs


def epoch_cost(config: RunConfig, input_size: int | None = None) -> float:
    steps = config.train_examples // config.batch_size
    per_step = STEP_OVERHEAD + step_work(config, input_size)
    return steps * per_step * (BN_FACTOR if config.batch_norm else 1.0)


# --- measuring this machine ---------------------------------------------------------------------------------
def calibrate(dataset, epochs: int = 3) -> tuple[float, float | None]:
    """(seconds per unit of work, seconds of fixed price per step), now: train the default network and
    a small one for a few short epochs each, time the steps after the first epoch (the default's
    compiled loop from the worker's warm-up is reused; the small one compiles once), and fit the line
    through the two. If the two disagree with any line of positive slope (a load spike between them),
    fall back to the default network alone: (its seconds per cost unit, None)."""
    from .train import train

    n = min(len(dataset.y_train), CALIBRATION_STEPS * 70)
    per_step = []
    for config in (RunConfig(), SMALL):
        config = config.replace(epochs=epochs, train_examples=n)
        result = train(config, dataset=dataset)
        result.release()
        h = result.history
        per_epoch = statistics.median(b["train_seconds"] - a["train_seconds"] for a, b in zip(h, h[1:]))
        per_step.append((per_epoch / (n // config.batch_size), step_work(config)))
    (t_big, w_big), (t_small, w_small) = per_step
    slope = (t_big - t_small) / (w_big - w_small)
    fixed = t_small - slope * w_small
    if slope <= 0 or fixed < 0:
        return t_big / (STEP_OVERHEAD + w_big), None
    return slope, fixed


def save_calibration(folder: Path, speed: float, step_seconds: float | None = None) -> Calibration:
    cal = Calibration(speed, now_iso(), socket.gethostname(), step_seconds)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / CALIBRATION_FILE, {"speed": cal.speed, "measured": cal.measured, "host": cal.host,
                                                  "step_seconds": cal.step_seconds})
    return cal


def load_calibration(folder: Path) -> Calibration | None:
    """This host's calibration from ``folder``, or None if there is none or it is not believable (the
    file is on disk, so it is checked like any input: small, JSON, a positive finite speed)."""
    path = Path(folder) / CALIBRATION_FILE
    try:
        if path.stat().st_size > 10_000:
            return None
        d = json.loads(path.read_text(encoding="utf-8"))
        speed, measured, host = float(d["speed"]), str(d["measured"])[:40], str(d["host"])
        step = None if d.get("step_seconds") is None else float(d["step_seconds"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if host != socket.gethostname() or not (math.isfinite(speed) and 1e-15 < speed < 1e-5):
        return None
    if step is not None and not (math.isfinite(step) and 0 <= step < 1):
        return None
    return Calibration(speed, measured, host, step)


# --- the estimate ------------------------------------------------------------------------------------------
def estimate(config: RunConfig, runs: Sequence[Run] = (), input_size: int | None = None,
             calibration: Calibration | None = None) -> Estimate:
    if calibration is not None and calibration.step_seconds is not None:
        steps = config.train_examples // config.batch_size
        per_step = calibration.step_seconds + calibration.speed * step_work(config, input_size)
        per_epoch = steps * per_step * (BN_FACTOR if config.batch_norm else 1.0)
        return Estimate(per_epoch, COMPILE_SECONDS + per_epoch * config.epochs,
                        "this machine's speed measured when the trainer started")
    if calibration is not None:
        speed = calibration.speed
        basis = "this machine's speed measured when the trainer started"
    else:
        speed, basis = _speed_from_runs(runs)
    per_epoch = epoch_cost(config, input_size) * speed
    return Estimate(per_epoch, COMPILE_SECONDS + per_epoch * config.epochs, basis)


def _speed_from_runs(runs: Sequence[Run]) -> tuple[float, str]:
    host = socket.gethostname()
    speeds = []
    for r in runs:
        if r.status != "finished" or not r.history or (r.data.get("environment") or {}).get("host") != host:
            continue
        pca = r.data.get("pca") or {}
        speeds.append(r.history[-1]["train_seconds"] / len(r.history) / epoch_cost(r.config, pca.get("components")))
        if len(speeds) == 9:  # the newest few are enough, and reflect the machine as it is now
            break
    if speeds:
        return statistics.median(speeds), f"measured on {len(speeds)} run{'s' * (len(speeds) != 1)} on this machine"
    return DEFAULT_SPEED, "no runs on this machine yet: a guess from the development machine"

