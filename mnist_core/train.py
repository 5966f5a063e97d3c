"""The training loop: fast, streaming, stoppable, reproducible. It knows nothing of any UI.

Why not ``model.fit``? It runs one Python-driven step per mini-batch; with batches of 70 on a
small network that overhead dominates (about 2.7 s an epoch here). Instead the whole training set
lives in memory as one tensor and a compiled function (XLA, ``jit_compile=True``) runs many
steps per call in a ``tf.while_loop``, gathering each batch by index: Python is visited only a few
times a second, to report progress and to check for a stop request.

``train(config, on_event, stop)`` calls ``on_event`` with plain dicts:
- ``{"event": "setup", ...}`` once the data, PCA and model are ready;
- ``{"event": "progress", ...}`` within an epoch, at least every 0.5 s: step, examples/s, ETAs;
- ``{"event": "epoch", ...}`` at each epoch end: one history entry (see ``curves.HISTORY_KEYS``),
  with ``learning_rate`` and, with a validation split, ``val_loss`` and ``val_accuracy``;
- ``{"event": "snapshot", "epoch", "arrays"}`` after some epochs: numpy arrays, see ``snapshots.py``;
- ``{"event": "end", "status": ..., "reason": ...}`` when it returns.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import curves
from . import data as data_mod
from . import penalties, schedules
from .epoch_end import EpochEnd
from .config import RunConfig
from .evaluate import analyse
from .health import PROBE_SIZE, HealthProbe
from .model import batch_statistics_logits, build_model, build_optimizer, kernels
from .snapshots import Snapshotter
from .tf_env import keras, tf

PROGRESS_EVERY = 0.25  # seconds between progress events (the contract is at most 0.5 s)
CHUNK_TARGET = 0.2  # seconds of training per compiled call; bounds stop latency and progress gaps

EventFn = Callable[[dict], None]


@dataclass
class TrainResult:
    config: RunConfig
    status: str  # "finished", "stopped" or "diverged"
    history: list[dict] = field(default_factory=list)
    reason: str | None = None
    best_epoch: int | None = None  # with early stopping: the epoch whose weights the model holds
    model: Any = None
    pca: dict | None = None  # components, explained_variance, fit_seconds, cached
    pca_transform: Any = None  # the fitted sklearn PCA, to save it in front of the model
    setup_seconds: float = 0.0  # data, PCA, model build
    compile_seconds: float = 0.0  # tracing and XLA compilation, before epoch 1
    param_count: int = 0
    analysis: dict | None = None  # confusion matrix, per-class accuracy, misclassified test images
    reused: bool = False  # the compiled loop of an earlier run of the same shape was reused
    _loop: Any = field(default=None, repr=False)

    @property
    def milestones(self) -> dict:
        return curves.milestones(self.history)

    def release(self) -> None:
        """Done with ``model``: its compiled loop may now serve the next run of the same shape (which
        overwrites the weights). Call it once the model is saved; without it nothing is reused."""
        if self._loop is not None:
            _put_idle(self._loop)
            self._loop = None


_TENSOR_LOCK = threading.Lock()


def _as_tensor(a: np.ndarray):
    """The array as a tensor. A 64-byte-aligned float32 array (as data.py makes them) is shared with
    TensorFlow through DLPack, without a copy: the training set then lives in memory once (~190 MB
    saved per process). Anything else is copied."""
    if a.dtype == np.float32 and a.flags.c_contiguous and a.ctypes.data % 64 == 0:
        return tf.experimental.dlpack.from_dlpack(a.__dlpack__())
    return tf.constant(a)


def _tensors(ds: data_mod.Dataset, key, x_train, x_test) -> tuple:
    """The dataset (or its PCA projection) as tensors, made once per dataset and shared by every run
    of this process: a run's subset and shuffle are indices into them."""
    with _TENSOR_LOCK:
        entry = ds.tensors.pop(key, None) or tuple(_as_tensor(a) for a in (x_train, ds.y_train, x_test, ds.y_test))
        ds.tensors[key] = entry  # most recent last
        for old in [k for k in ds.tensors if k][:-2]:  # pixels always; at most two PCA projections
            del ds.tensors[old]
        return entry


# Compiling a network's training step with XLA takes about a second, most of the wait between
# pressing Train and the first point. Two runs of the same shape (layers, activation, BN, optimizer,
# batch size, inputs, which regularisers are on, the kind of schedule) can share the compiled code:
# the second only overwrites the weights, the optimizer's state and the knobs' variables (dropout
# rate, penalties, norms, schedule numbers) with its own, so its numbers are exactly a fresh build's.
_IDLE: list["_CompiledLoop"] = []  # loops no run is using, most recently released last
_IDLE_LOCK = threading.Lock()
MAX_IDLE = 3


def _take_idle(key: tuple, ds) -> "_CompiledLoop | None":
    with _IDLE_LOCK:
        for loop in reversed(_IDLE):
            if loop.key == key and loop.ds is ds:
                _IDLE.remove(loop)
                return loop
    return None


def _put_idle(loop: "_CompiledLoop") -> None:
    with _IDLE_LOCK:
        _IDLE.append(loop)
        del _IDLE[:-MAX_IDLE]


class _CompiledLoop:
    """The training set as tensors and two compiled functions: run k steps, and evaluate."""

    def __init__(self, model, optimizer, knobs: schedules.Knobs, config: RunConfig, tensors: tuple, steps: int):
        self.model, self.optimizer, self.knobs = model, optimizer, knobs
        batch_size = config.batch_size
        # Which extras the step computes is fixed at compile time; their numbers are knobs' variables.
        # Each penalty term is computed only when on: even folded (penalties.py), a sum over the 235,000
        # first-layer weights is a pass over a megabyte.
        self.l1_on, self.l2_on = bool(config.l1), bool(config.l2)
        self.clip, self.max_norm = bool(config.clip_norm), bool(config.max_norm)
        self.bn_batch = config.batch_norm and config.bn_eval == "batch"  # the notebook's evaluation
        self.kernels = kernels(model)
        self.x, self.y, self.x_test, self.y_test = tensors
        self.batch_size = batch_size
        self.key, self.ds, self.probe = None, None, None
        # One epoch's shuffled example indices, [steps, batch], room for the whole training set;
        # refilled each epoch, so the compiled function's inputs keep one shape and it compiles once
        # for any number of training examples.
        self.order = tf.Variable(tf.zeros((steps, batch_size), tf.int32), trainable=False)
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        optimizer.build(model.trainable_variables)
        sig = [tf.TensorSpec((), tf.int32), tf.TensorSpec((), tf.int32)]
        self.run = tf.function(self._run, input_signature=sig, jit_compile=True)
        # Evaluation is one pass of three matrix products over 10,000 images: already fast without
        # XLA (about 0.03 s here), so it is traced but not XLA-compiled, which saves ~0.3 s of compile.
        self.evaluate = tf.function(self._evaluate)
        # The validation rows, as indices into the training tensor: one trace for any split size.
        self.evaluate_rows = tf.function(self._evaluate_rows, input_signature=[tf.TensorSpec([None], tf.int32)])

    def _run(self, start, count):
        """Run ``count`` SGD steps from step ``start``; return summed loss and correct predictions."""
        # Summed in float64: every float32 loss then adds exactly, so the epoch's mean loss does not
        # depend on where the (timing-dependent) chunk boundaries fell. Same seed, same numbers.
        loss_sum = tf.constant(0.0, tf.float64)
        correct = tf.constant(0, tf.int32)
        i = start
        # A plain while loop, not tf.range: XLA would treat range bounds as compile-time
        # constants and recompile for every (start, count) pair.
        while i < start + count:
            idx = self.order[i]
            xb, yb = tf.gather(self.x, idx), tf.gather(self.y, idx)
            with tf.GradientTape() as tape:
                logits = self.model(xb, training=True)  # BN uses this batch's statistics; dropout drops
                loss = self.loss_fn(yb, logits)
                # Keras' L1L2 regulariser: l1 * sum|w| + l2 * sum w^2 over the kernels, summed fast
                if self.l1_on or self.l2_on:
                    loss += penalties.penalty(self.kernels, self.knobs.l1, self.knobs.l2, self.l1_on, self.l2_on)
            grads = tape.gradient(loss, self.model.trainable_variables)
            if self.clip:  # scale all gradients together so their global norm is at most clip_norm
                grads = penalties.clip_by_global_norm(grads, self.knobs.clip_norm)
            self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
            if self.max_norm:
                for w in self.kernels:
                    w.assign(self.knobs.constraint(w))
            loss_sum += tf.cast(loss, tf.float64)
            pred = tf.argmax(logits, axis=1, output_type=tf.int32)
            correct += tf.reduce_sum(tf.cast(pred == yb, tf.int32))
            i += 1
        return loss_sum, correct

    def _logits(self, x):
        """Evaluation logits: BN with its moving averages, or (bn_eval=batch) with x's own statistics."""
        return batch_statistics_logits(self.model, x) if self.bn_batch else self.model(x, training=False)

    def _evaluate(self):
        logits = self._logits(self.x_test)
        pred = tf.argmax(logits, axis=1, output_type=tf.int32)
        return self.loss_fn(self.y_test, logits), tf.reduce_mean(tf.cast(pred == self.y_test, tf.float32))

    def _evaluate_rows(self, rows):
        logits = self._logits(tf.gather(self.x, rows))
        y = tf.gather(self.y, rows)
        pred = tf.argmax(logits, axis=1, output_type=tf.int32)
        return self.loss_fn(y, logits), tf.reduce_mean(tf.cast(pred == y, tf.float32))

    def test_probabilities(self) -> np.ndarray:
        return tf.nn.softmax(self._logits(self.x_test)).numpy()

    def reset(self, model, optimizer, config: RunConfig) -> bool:
        """Take the fresh weights of ``model``, the initial state of ``optimizer`` (same shapes) and the
        numbers of ``config``."""
        optimizer.build(model.trainable_variables)
        if len(optimizer.variables) != len(self.optimizer.variables) or len(model.variables) != len(self.model.variables):
            return False
        for mine, fresh in zip(self.model.variables, model.variables):
            mine.assign(fresh)  # weights, BN's moving averages, dropout rates and their random streams
        for mine, fresh in zip(self.optimizer.variables, optimizer.variables):
            mine.assign(fresh)  # step count, learning rate, momenta, accumulators
        self.knobs.assign(config)
        return True


def split_validation(examples: np.ndarray, config: RunConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """(examples to fit, validation examples or None), as sorted indices into the training set.

    The split is held out of the run's examples and chosen by the seed, from a random stream of its
    own, so the batch order of runs without a split is unchanged. The weights never see it."""
    if not config.validation:
        return examples, None
    picked = np.random.default_rng([config.seed, 1]).permutation(len(examples))
    return np.sort(examples[picked[config.validation:]]), np.sort(examples[picked[:config.validation]])


def train(config: RunConfig, on_event: EventFn | None = None, stop: threading.Event | None = None,
          dataset: data_mod.Dataset | None = None, data_path: str | None = None) -> TrainResult:
    """Train ``config`` to the end, to a stop request, or to a loss that explodes (``diverged``: not a
    number, infinite, or far above the untrained network's, see ``_explosion``)."""
    emit = on_event or (lambda _e: None)
    stop = stop or threading.Event()
    t0 = time.perf_counter()

    ds = dataset or data_mod.load(config.dataset, data_path)
    # The run's examples, as indices into the whole training set (a fixed subset, see Dataset.subset).
    examples = np.arange(len(ds.y_train))[ds.subset(config.train_examples)]
    x_train, x_test, pca_info, pca_transform = ds.x_train, ds.x_test, None, None
    if config.uses_pca:
        p = data_mod.pca(ds, config.pca, config.pca_variance)
        x_train, x_test = p.x_train, p.x_test
        pca_info = {"components": p.components, "explained_variance": p.explained_variance,
                    "fit_seconds": p.fit_seconds, "cached": p.cached}
        pca_transform = p.pca
    tensors = _tensors(ds, config.pca or config.pca_variance, x_train, x_test)

    examples, val_rows = split_validation(examples, config)
    val_rows = None if val_rows is None else tf.constant(val_rows.astype(np.int32))

    # The partial last batch is dropped, as the notebook did (range(n // batch_size)); each epoch
    # reshuffles, so every example is still seen.
    steps = len(examples) // config.batch_size
    max_steps = len(ds.y_train) // config.batch_size
    model = build_model(config, x_train.shape[1])
    knobs = schedules.Knobs(config)
    optimizer = build_optimizer(config, knobs.schedule)
    probe_rows = examples[:PROBE_SIZE]
    key = (config.pca or config.pca_variance, x_train.shape[1], config.hidden, config.activation,
           config.batch_norm, config.bn_eval, config.optimizer, config.batch_size, len(probe_rows), bool(config.dropout),
           bool(config.l1), bool(config.l2), bool(config.max_norm), bool(config.clip_norm),
           "constant" if knobs.schedule is None else config.schedule)
    loop = _take_idle(key, ds)
    reused = loop is not None and loop.reset(model, optimizer, config)
    if reused:
        loop.probe.set_batch(x_train[probe_rows], ds.y_train[probe_rows])
    else:
        loop = _CompiledLoop(model, optimizer, knobs, config, tensors, max_steps)
        loop.key, loop.ds = key, ds
        loop.probe = HealthProbe(model, len(config.hidden), config.batch_norm, x_train[probe_rows],
                                 ds.y_train[probe_rows])
    model, probe = loop.model, loop.probe
    result = TrainResult(config, "finished", model=model, pca=pca_info, pca_transform=pca_transform,
                         param_count=model.count_params(), reused=reused, _loop=loop)
    result.setup_seconds = time.perf_counter() - t0
    emit({"event": "setup", "param_count": result.param_count, "steps_per_epoch": steps,
          "pca": pca_info, "setup_seconds": result.setup_seconds, "source": ds.source})

    t1 = time.perf_counter()
    loop.run(tf.constant(0), tf.constant(0))  # trace and compile now, so epoch 1 is timed fairly
    # The untrained network's loss (test cross-entropy plus any L1/L2 penalty, as train_loss counts
    # it): divergence is judged against it.
    initial_loss = float(loop.evaluate()[0]) + _penalty(loop, config)
    if val_rows is not None:
        loop.evaluate_rows(val_rows)
    probe()
    result.compile_seconds = time.perf_counter() - t1

    # Looks inside the network at a few epochs, after their evaluation (see snapshots.py).
    snaps = Snapshotter(config, model, loop.x_test, ds.y_test, pca_transform, probe.x, probe.y)
    rng = np.random.default_rng(config.seed)
    watch = EpochEnd(config, loop)
    train_seconds = 0.0
    wall_start = time.perf_counter()
    chunk, last_progress = 1, 0.0
    for epoch in range(1, config.epochs + 1):
        order = np.zeros((max_steps, config.batch_size), np.int32)
        order[:steps] = examples[rng.permutation(len(examples))[: steps * config.batch_size]].reshape(steps, -1)
        loop.order.assign(order)
        loss_sum, correct, step = 0.0, 0, 0
        epoch_start = time.perf_counter()
        while step < steps:
            if stop.is_set():
                result.status, result.reason = "stopped", f"stopped during epoch {epoch}"
                break
            k = min(chunk, steps - step)
            c0 = time.perf_counter()
            l, c = loop.run(tf.constant(step, tf.int32), tf.constant(k, tf.int32))
            loss_sum += float(l)
            correct += int(c)
            dt = time.perf_counter() - c0
            step += k
            train_seconds += dt
            # Size the next call so it takes about CHUNK_TARGET seconds.
            chunk = max(1, min(steps, int(k * CHUNK_TARGET / max(dt, 1e-4))))
            if not math.isfinite(loss_sum):
                result.status = "diverged"
                result.reason = f"the loss became {loss_sum} in epoch {epoch}: {_rate_advice(config)}"
                break
            now = time.perf_counter()
            if now - last_progress >= PROGRESS_EVERY or step == steps:
                last_progress = now
                emit(_progress(config, epoch, step, steps, now - epoch_start, train_seconds,
                               len(result.history)))
        if result.status != "finished":
            break
        test_loss, test_acc = loop.evaluate()
        extra = {"learning_rate": watch.rate(epoch)}
        if val_rows is not None:
            val_loss, val_acc = loop.evaluate_rows(val_rows)
            extra.update(val_loss=float(val_loss), val_accuracy=float(val_acc))
        entry = {"epoch": epoch,
                 "train_loss": loss_sum / steps,
                 "train_accuracy": correct / (steps * config.batch_size),
                 "test_loss": float(test_loss),
                 "test_accuracy": float(test_acc),
                 "train_seconds": train_seconds,
                 "wall_seconds": time.perf_counter() - wall_start,
                 **extra, **probe()}
        if not math.isfinite(entry["test_loss"]):
            result.status = "diverged"
            result.reason = f"the test loss became {entry['test_loss']} after epoch {epoch}"
            break
        result.history.append(entry)
        emit({"event": "epoch", **entry})
        exploded = _explosion(entry, initial_loss, config)
        if exploded:  # the epoch is kept, so its loss shows; the weights are wrecked, so the run ends
            result.status, result.reason = "diverged", exploded
            break
        stopping = watch.after_epoch(epoch, entry)
        snaps.epoch_end(epoch, emit, last=stopping)  # an early-stopped run's last epoch gets one too
        if stopping:
            result.reason = watch.stop_reason
            break
    if result.history and result.status != "diverged":
        result.best_epoch = watch.restore_best()
        if result.best_epoch is not None and watch.stop_reason is None:
            held = f"the model holds the weights of epoch {result.best_epoch}, the lowest validation loss"
            result.reason = f"{result.reason}; {held}" if result.reason else held
        result.analysis = analyse(ds.y_test, loop.test_probabilities())
    emit({"event": "end", "status": result.status, "reason": result.reason})
    return result


# A fresh network guesses: its loss is about ln(10) = 2.30, the cross-entropy of giving each of the ten
# digits probability 1/10. Gradient descent with a workable step only lowers the loss from there. An
# epoch whose mean training loss is more than twice the untrained network's (with the usual
# initialisation: above 4.6, i.e. the right digit got on average less than 1% probability, ten times
# worse than guessing) means the steps overshoot and the weights blow up. On MNIST such runs ended
# between 1e3 and 1e17 in epoch 1 and then sat at chance or far below what a smaller rate reaches;
# workable rates stayed under 1.2 times the initial loss. Over-fitting does not trigger it: only the
# training loss is judged, and it keeps falling while the test loss rises.
EXPLOSION_FACTOR = 2.0


def _explosion(entry: dict, initial_loss: float, config: RunConfig) -> str | None:
    """Why the run diverged, or None if the epoch's training loss is within bounds."""
    limit = EXPLOSION_FACTOR * max(math.log(10), initial_loss)
    if entry["train_loss"] <= limit:
        return None
    return (f"the training loss exploded to {entry['train_loss']:.3g} in epoch {entry['epoch']}, more than "
            f"{EXPLOSION_FACTOR:g} times the {initial_loss:.2f} of the untrained network: {_rate_advice(config)}")


def _penalty(loop, config: RunConfig) -> float:
    """The L1/L2 penalty of the current weights, as the training step adds it to the loss."""
    if not (config.l1 or config.l2):
        return 0.0
    return float(sum(config.l1 * np.abs(w).sum() + config.l2 * np.square(w).sum()
                     for w in (k.numpy() for k in loop.kernels)))


def _rate_advice(config: RunConfig) -> str:
    lr = config.learning_rate
    return (f"the learning rate {lr:g} is too high for {config.optimizer}; try {lr / 10:g} or smaller "
            f"(the learning-rate finder suggests one)")


def _progress(config: RunConfig, epoch: int, step: int, steps: int, epoch_elapsed: float,
              train_seconds: float, done_epochs: int) -> dict:
    per_step = epoch_elapsed / step
    epoch_eta = per_step * (steps - step)
    return {"event": "progress", "epoch": epoch, "epochs": config.epochs, "step": step, "steps": steps,
            "examples_per_second": step * config.batch_size / max(epoch_elapsed, 1e-9),
            "epoch_eta_seconds": epoch_eta,
            "eta_seconds": epoch_eta + per_step * steps * (config.epochs - epoch),
            "train_seconds": train_seconds, "finished_epochs": done_epochs}
