"""Learning-rate schedules: the rate at every step of a run, in numpy and as Keras schedule objects.

A schedule is given in epochs (``decay_epochs``) and turned into steps with the run's steps per
epoch. Each kind is one of Keras' own classes (``keras.optimizers.schedules``):

- exponential: ``ExponentialDecay``, rate x decay_rate ** (step / (decay_epochs x steps per epoch));
- step: the same with ``staircase=True``, a drop by decay_rate every decay_epochs;
- cosine: ``CosineDecay`` from the rate down to 0 at the run's last step (SGDR without restarts);
- one_cycle: ``CosineDecay`` with a linear warm-up from a 25th of the rate to the rate over the
  first 30% of the steps, then cosine down to 0 (the defaults of PyTorch's OneCycleLR, whose
  annealing is cosine too);
- plateau: Keras' ``ReduceLROnPlateau`` callback at each epoch end (see train.py): unknown in
  advance, since it depends on the validation loss.

``rates`` computes the same numbers with numpy, so the Train page can draw a schedule before the
run starts without importing TensorFlow; tests check it against Keras' classes at chosen steps.
"""

from __future__ import annotations

import numpy as np

from .config import RunConfig

WARMUP_SHARE = 0.3  # one_cycle: share of the steps spent warming up (OneCycleLR's pct_start)
WARMUP_DIV = 25.0  # one_cycle: the warm-up starts at rate / 25 (OneCycleLR's div_factor)


def plan(config: RunConfig) -> dict:
    """The schedule's numbers in steps: what both the numpy and the Keras versions use."""
    steps = max(1, config.steps_per_epoch)
    total = steps * config.epochs
    warmup = int(round(WARMUP_SHARE * total)) if config.schedule == "one_cycle" else 0
    return {"initial": config.learning_rate, "decay_rate": config.decay_rate,
            "decay_steps": float(config.decay_epochs * steps if config.schedule in ("exponential", "step")
                                 else max(1, total - warmup)),
            "warmup_steps": float(warmup), "warmup_from": config.learning_rate / WARMUP_DIV,
            "total_steps": total}


def rates(config: RunConfig, steps) -> np.ndarray:
    """The learning rate used by each (0-based) step. Plateau is drawn flat: its cuts are not known yet."""
    p = plan(config)
    s = np.asarray(steps, np.float64)
    lr = p["initial"]
    kind = config.schedule
    if kind in ("exponential", "step"):
        e = s / p["decay_steps"]
        return lr * p["decay_rate"] ** (np.floor(e) if kind == "step" else e)
    if kind == "cosine":
        return lr * 0.5 * (1 + np.cos(np.pi * np.minimum(s, p["decay_steps"]) / p["decay_steps"]))
    if kind == "one_cycle":
        w, d = p["warmup_steps"], p["decay_steps"]
        s = np.minimum(s, w + d)
        with np.errstate(divide="ignore", invalid="ignore"):
            up = p["warmup_from"] + (lr - p["warmup_from"]) * s / w
        down = lr * 0.5 * (1 + np.cos(np.pi * (s - w) / d))
        return np.where(s < w, up, down)
    return np.full(s.shape, lr)


def epoch_end_steps(config: RunConfig) -> np.ndarray:
    """The last step of each epoch: the rate a run records for the epoch is the one that step used."""
    steps = max(1, config.steps_per_epoch)
    return np.arange(1, config.epochs + 1) * steps - 1


class Knobs:
    """The run's numbers that the compiled training step reads, as TensorFlow variables.

    A compiled (XLA) function bakes Python numbers into its code; variables it only reads. So the
    schedule's numbers, the penalties, the max-norm and the clipping norm live here, and a later run
    of the same shape assigns its own numbers instead of compiling again. (Keras' L1L2 regulariser
    and ``global_clipnorm`` option accept only Python floats, which is why the penalty and the
    clipping are applied in the training step; the schedule and MaxNorm take variables as they are.)
    """

    def __init__(self, config: RunConfig):
        from .tf_env import keras, tf

        def var(value, name):
            return tf.Variable(float(value), dtype=tf.float32, trainable=False, name=name)

        p = plan(config)
        self.initial = var(p["initial"], "initial_learning_rate")
        self.decay_rate = var(p["decay_rate"], "decay_rate")
        self.decay_steps = var(p["decay_steps"], "decay_steps")
        self.warmup_steps = var(p["warmup_steps"], "warmup_steps")
        self.warmup_from = var(p["warmup_from"], "warmup_from")
        self.l1, self.l2 = var(config.l1, "l1"), var(config.l2, "l2")
        self.max_norm = var(config.max_norm or 1.0, "max_norm")
        self.clip_norm = var(config.clip_norm or 1.0, "clip_norm")
        # axis=0: the norm of each unit's incoming weights (a kernel column), as in Srivastava et al.
        self.constraint = keras.constraints.MaxNorm(max_value=self.max_norm, axis=0)
        sch = keras.optimizers.schedules
        self.schedule = {
            "exponential": lambda: sch.ExponentialDecay(self.initial, self.decay_steps, self.decay_rate),
            "step": lambda: sch.ExponentialDecay(self.initial, self.decay_steps, self.decay_rate, staircase=True),
            "cosine": lambda: sch.CosineDecay(self.initial, self.decay_steps),
            "one_cycle": lambda: sch.CosineDecay(self.warmup_from, self.decay_steps, warmup_target=self.initial,
                                                 warmup_steps=self.warmup_steps),
        }.get(config.schedule, lambda: None)()

    def assign(self, config: RunConfig) -> None:
        """Take another run's numbers (same shape, so the same kind of schedule)."""
        p = plan(config)
        for name in ("initial", "decay_rate", "decay_steps", "warmup_steps", "warmup_from"):
            getattr(self, name).assign(p[name])
        self.l1.assign(config.l1)
        self.l2.assign(config.l2)
        self.max_norm.assign(config.max_norm or 1.0)
        self.clip_norm.assign(config.clip_norm or 1.0)
