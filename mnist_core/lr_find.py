"""The learning-rate range test (Leslie Smith, 2015; popularised by fast.ai).

Start from fresh weights and take a few hundred steps while the learning rate grows exponentially,
from far too small to far too large, recording the loss after each. While the rate is too small the
loss barely moves; at a good rate it falls fastest; past that it becomes unstable and explodes. A
reasonable choice is the rate where the smoothed loss falls most steeply, read off the curve.
"""

from __future__ import annotations

import math

import numpy as np

from . import curves
from .config import FIELD_BY_NAME, RunConfig
from .data import Dataset

LR_MIN, LR_MAX = 1e-5, 10.0


def lr_range_test(config: RunConfig, ds: Dataset, steps: int = 300, lr_min: float = LR_MIN,
                  lr_max: float = LR_MAX) -> dict:
    """Losses for rates from lr_min to lr_max (log-spaced), stopping once the loss explodes."""
    from . import data as data_mod
    from .model import build_model, build_optimizer
    from .tf_env import keras, tf

    x, y = ds.x_train[ds.subset(config.train_examples)], ds.y_train[ds.subset(config.train_examples)]
    if config.uses_pca:
        p = data_mod.pca(ds, config.pca, config.pca_variance)
        x = p.x_train[ds.subset(config.train_examples)]
    model = build_model(config, x.shape[1])
    optimizer = build_optimizer(config, learning_rate=lr_min)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    rates = np.geomspace(lr_min, lr_max, steps)
    order = np.random.default_rng(config.seed).permutation(len(y))
    batch = config.batch_size

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    losses, best = [], math.inf
    for i, lr in enumerate(rates):
        optimizer.learning_rate.assign(lr)
        idx = order[(i * batch) % max(1, len(y) - batch):][:batch]
        loss = float(step(tf.constant(x[idx]), tf.constant(y[idx])))
        if not math.isfinite(loss):
            break
        losses.append(loss)
        best = min(best, loss)
        if loss > 4 * best and i > 10:  # exploded: the rest says nothing more
            break
    rates = rates[: len(losses)].tolist()
    smoothed = curves.smooth(losses, 0.9)
    return {"rates": rates, "losses": losses, "smoothed": smoothed, "suggestion": suggest(rates, smoothed)}


def suggest(rates: list[float], smoothed: list[float]) -> float | None:
    """The rate where the smoothed loss falls fastest per decade of learning rate, within bounds."""
    if len(rates) < 5:
        return None
    log_r = np.log10(rates)
    slope = np.gradient(np.asarray(smoothed), log_r)
    i = int(np.argmin(slope[2:-2])) + 2  # ignore the noisy ends
    f = FIELD_BY_NAME["learning_rate"]
    return float(min(max(rates[i], 1e-6), f.hi))
