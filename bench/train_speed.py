"""Training speed: our compiled loop beside its peers, measured in the same run, as ratios.

    python -m bench.train_speed [--rounds 3] [--data ../shared/data]

Seconds per epoch on the full 60,000 MNIST training images, batch 70, SGD lr 0.01:
- ours: the notebook default (784-300-100-10 ReLU), BN+ELU, and PCA-154 inputs;
- keras ``model.fit`` on the same model, compiled with its defaults, and compiled the fastest way
  Keras offers (``steps_per_execution`` and ``jit_compile=True``: many steps per call, XLA);
- PyTorch eager (the same network, SGD, batch 70), when torch is installed (it is not a dependency);
- scikit-learn's MLPClassifier (sgd, batch 70, no momentum), one epoch;
- the matmul floor: numpy doing only the forward and backward matrix products of one epoch;
- the machine's peak: the epoch's matrix-product FLOPs at the best large-matrix-product rate
  measured in this run (numpy and TensorFlow, float32), a bound no training loop can beat;
- ours with the toolkit: dropout 0.2 + L2 1e-4 + clip_norm 1 + a cosine schedule (target <= 1.3x);
- a 5,000-image validation split: epoch wall time (training + test + validation evaluation) against
  the same 55,000 fitted images without the split (target <= 1.10x).
Plus: evaluating the 10,000 test images, the worst gap between progress events, stop latency, and
the compile time of a run that changes only dropout 0.2 -> 0.3 (reuses the compiled loop),
and what snapshots (snapshots.py) add to a 60-epoch run of the notebook default.
Each method is measured in every round, rounds interleaved, and the median is reported, because
this machine's speed drifts by tens of percent over minutes; ratios within a round are steadier.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time
import warnings

import numpy as np

from mnist_core import data
from mnist_core.config import RunConfig
from mnist_core.train import train


def ours(ds, config: RunConfig) -> float:
    """Steady-state seconds per epoch (the first epoch after compilation is dropped)."""
    r = train(config.replace(epochs=3), dataset=ds)
    h = r.history
    return (h[-1]["train_seconds"] - h[0]["train_seconds"]) / (len(h) - 1)


TOOLKIT = RunConfig(dropout=0.2, l2=1e-4, clip_norm=1.0, schedule="cosine")


def ours_wall(ds, config: RunConfig) -> float:
    """Steady-state wall seconds per epoch: training plus every evaluation."""
    h = train(config.replace(epochs=3), dataset=ds).history
    return (h[-1]["wall_seconds"] - h[0]["wall_seconds"]) / (len(h) - 1)


def dropout_change_compile(ds) -> tuple[float, float]:
    """Compile seconds of a dropout-0.2 run, then of a dropout-0.3 run that reuses its loop."""
    first = train(TOOLKIT.replace(epochs=1, train_examples=7000), dataset=ds)
    first.release()
    second = train(TOOLKIT.replace(epochs=1, train_examples=7000, dropout=0.3), dataset=ds)
    second.release()
    assert second.reused
    return first.compile_seconds, second.compile_seconds


def ours_eval(ds) -> float:
    r = train(RunConfig(epochs=3), dataset=ds)
    return statistics.median(b["wall_seconds"] - b["train_seconds"] - (a["wall_seconds"] - a["train_seconds"])
                             for a, b in zip(r.history, r.history[1:]))


def keras_fit(ds) -> float:
    from mnist_core.model import build_model
    from mnist_core.tf_env import keras

    model = build_model(RunConfig(), 784)
    model.compile(optimizer=keras.optimizers.SGD(0.01), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(ds.x_train, ds.y_train, batch_size=70, epochs=1, verbose=0)  # compile + warm
    t = time.perf_counter()
    model.fit(ds.x_train, ds.y_train, batch_size=70, epochs=1, verbose=0)
    return time.perf_counter() - t


def keras_fit_fastest(ds, steps_per_execution: int = 200) -> float:
    """model.fit as fast as Keras makes it: many steps per compiled call, the step compiled by XLA."""
    from mnist_core.model import build_model
    from mnist_core.tf_env import keras

    model = build_model(RunConfig(), 784)
    model.compile(optimizer=keras.optimizers.SGD(0.01), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  steps_per_execution=steps_per_execution, jit_compile=True)
    model.fit(ds.x_train, ds.y_train, batch_size=70, epochs=1, verbose=0)  # compile + warm
    t = time.perf_counter()
    model.fit(ds.x_train, ds.y_train, batch_size=70, epochs=1, verbose=0)
    return time.perf_counter() - t


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_eager(ds, batch: int = 70) -> float:
    """The same network in PyTorch, eager mode, the usual loop: one Python iteration per batch. One
    thread: with two, every small product waits at an OpenMP barrier for the other thread, which on a
    busy 2-core machine cost 0.8 s a step (100x)."""
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train.astype(np.int64))
    steps = len(y) // batch

    def epoch() -> None:
        order = torch.randperm(len(y))
        for i in range(steps):
            idx = order[i * batch:(i + 1) * batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()

    epoch()  # warm: allocator, thread pool
    t = time.perf_counter()
    epoch()
    return time.perf_counter() - t


def best_matmul_flops(sizes=(512, 1024, 2048), repeats: int = 3) -> float:
    """The best float32 matrix-product rate (FLOP/s) this machine shows now, numpy or TensorFlow."""
    from mnist_core.tf_env import tf

    best = 0.0
    rng = np.random.default_rng(0)
    for n in sizes:
        a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
        ta, tb = tf.constant(a), tf.constant(b)
        (ta @ tb).numpy()  # warm
        for _ in range(repeats):
            t = time.perf_counter()
            a @ b
            best = max(best, 2 * n ** 3 / (time.perf_counter() - t))
            t = time.perf_counter()
            (ta @ tb).numpy()
            best = max(best, 2 * n ** 3 / (time.perf_counter() - t))
    return best


def epoch_matmul_flops(examples: int = 60_000, sizes=(784, 300, 100, 10)) -> float:
    """An epoch's matrix products: per example and layer, 2 FLOPs a weight forward and 4 backward
    (the gradients of the inputs and of the weights); the first layer needs no input gradient."""
    weights = [a * b for a, b in zip(sizes, sizes[1:])]
    return examples * (6 * sum(weights) - 2 * weights[0])


def sklearn_mlp(ds) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(300, 100), solver="sgd", batch_size=70, learning_rate_init=0.01,
                        momentum=0.0, nesterovs_momentum=False, max_iter=1, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t = time.perf_counter()
        clf.fit(ds.x_train, ds.y_train)
    return time.perf_counter() - t


def matmul_floor(ds, batch: int = 70, sizes=(784, 300, 100, 10)) -> float:
    """Only the matrix products of one epoch: per layer the forward X@W, and backward dY@W.T and X.T@dY."""
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((a, b), dtype=np.float32) for a, b in zip(sizes, sizes[1:])]
    steps = len(ds.y_train) // batch
    acts = [rng.standard_normal((batch, s), dtype=np.float32) for s in sizes]
    t = time.perf_counter()
    for i in range(steps):
        x = ds.x_train[i * batch:(i + 1) * batch]
        h = x
        for w in ws:
            h = h @ w
        for k in range(len(ws) - 1, -1, -1):
            grad_out = acts[k + 1]
            _ = (x if k == 0 else acts[k]).T @ grad_out
            if k:
                _ = grad_out @ ws[k].T
    return time.perf_counter() - t


def snapshot_overhead(ds) -> tuple[float, float, float]:
    """Seconds per snapshot and per epoch of training, measured in one 4-epoch run of the notebook
    default that takes a snapshot after every epoch; and what that makes for 60 epochs (10 snapshots)
    as a share of the training time. A snapshot's time is from its epoch's event to the runner's
    notice that it is stored (npz and TensorBoard summaries written), so saving is counted too."""
    import tempfile
    from unittest import mock

    from mnist_core import snapshots
    from mnist_core.runner import execute
    from mnist_core.store import RunStore

    marks: dict[int, float] = {}
    snaps: list[float] = []

    def on_event(e):
        if e["event"] == "epoch":
            marks[e["epoch"]] = time.perf_counter()
        elif e["event"] == "snapshot":
            snaps.append(time.perf_counter() - marks[e["epoch"]])

    with tempfile.TemporaryDirectory() as tmp, mock.patch("mnist_core.data.load", lambda *a, **k: ds):
        h = execute(RunConfig(epochs=4), RunStore(tmp, reference_dir=False), on_event=on_event,
                    save_model=False).history
    epoch = statistics.median(b["train_seconds"] - a["train_seconds"] for a, b in zip(h, h[1:]))
    snap = statistics.median(snaps[1:])  # the first one builds its probe model
    return snap, epoch, len(snapshots.schedule(60)) * snap / (60 * epoch)


def progress_and_stop(ds) -> tuple[float, float]:
    """Worst gap between consecutive events inside an epoch, and seconds from stop to return."""
    stamps, stop, asked = [], threading.Event(), []

    def on_event(e):
        if e["event"] in ("progress", "epoch"):
            stamps.append(time.perf_counter())
        if e["event"] == "progress" and e["epoch"] == 3 and not stop.is_set():
            stop.set()
            asked.append(time.perf_counter())

    train(RunConfig(hidden=(1568, 500), epochs=5), on_event, stop, dataset=ds)
    done = time.perf_counter()
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    return max(gaps), done - asked[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", default=None)
    ap.add_argument("--snapshots-only", action="store_true", help="measure only what snapshots add")
    ap.add_argument("--toolkit", action="store_true",
                    help="only the toolkit's ratios: default, dropout+L2+clip+cosine, validation split")
    args = ap.parse_args()
    if args.snapshots_only:
        snap, epoch, overhead = snapshot_overhead(data.load("mnist", args.data))
        print(f"snapshots: {snap:.2f} s each, {epoch:.2f} s per training epoch; 60 epochs: +{overhead:.1%}")
        return
    ds = data.load("mnist", args.data)
    methods = {
        "ours: 300-100 ReLU (notebook default)": lambda: ours(ds, RunConfig()),
        "ours: 300-100 ELU + batch norm": lambda: ours(ds, RunConfig(activation="elu", batch_norm=True)),
        "ours: 300-100 ReLU on PCA-154 inputs": lambda: ours(ds, RunConfig(pca=154)),
        "ours: + dropout 0.2, L2 1e-4, clip_norm 1, cosine": lambda: ours(ds, TOOLKIT),
        "ours, wall: 55,000 fitted, no validation": lambda: ours_wall(ds, RunConfig(train_examples=55000)),
        "ours, wall: 60,000 minus a 5,000 validation split": lambda: ours_wall(ds, RunConfig(validation=5000)),
        "keras model.fit, same model, defaults": lambda: keras_fit(ds),
        "keras model.fit, steps_per_execution=200, jit_compile=True": lambda: keras_fit_fastest(ds),
        "sklearn MLPClassifier (sgd)": lambda: sklearn_mlp(ds),
        "numpy matmul floor": lambda: matmul_floor(ds),
    }
    if torch_available():
        methods["PyTorch eager, same network, 1 thread"] = lambda: torch_eager(ds)
    if args.toolkit:
        methods = {k: v for k, v in methods.items() if "default" in k or "cosine" in k or "wall" in k}
    times = {name: [] for name in methods}
    evals, rates = [], []
    for r in range(args.rounds):
        for name, fn in methods.items():
            times[name].append(fn())
        if not args.toolkit:
            evals.append(ours_eval(ds))
            rates.append(best_matmul_flops())
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{v[-1]:.2f}" for v in times.values()), flush=True)
    gap, stop_latency = (None, None) if args.toolkit else progress_and_stop(ds)
    fresh_compile, reused_compile = dropout_change_compile(ds)
    snap, epoch, overhead = (None, None, None) if args.toolkit else snapshot_overhead(ds)

    med = {k: statistics.median(v) for k, v in times.items()}
    peak_rate = max(rates) if rates else None
    if rates:
        med["machine peak: the epoch's matrix FLOPs at the best matmul rate"] = epoch_matmul_flops() / peak_rate
    base = med["ours: 300-100 ReLU (notebook default)"]
    print(f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; median of {args.rounds} interleaved rounds\n")
    print("| method | s / epoch | vs ours (default) |")
    print("| --- | ---: | ---: |")
    for name, v in med.items():
        print(f"| {name} | {v:.2f} | {v / base:.2f}x |")
    if not torch_available() and not args.toolkit:
        print("| PyTorch eager | not installed | |")
    if rates:
        print(f"\nPeak: {epoch_matmul_flops() / 1e9:.1f} GFLOP of matrix products per epoch; best large matmul "
              f"{peak_rate / 1e9:.1f} GFLOP/s (float32, numpy or TensorFlow, {len(rates)} rounds).")

    def ratio(top: str, bottom: str) -> float:
        """Median of the per-round ratios: both measured minutes apart at most, so drift cancels."""
        return statistics.median(t / b for t, b in zip(times[top], times[bottom]))

    default = "ours: 300-100 ReLU (notebook default)"
    if not args.toolkit:
        print(f"\n- BN+ELU epoch / ReLU epoch: {med['ours: 300-100 ELU + batch norm'] / base:.2f} (target <= 1.6)")
    print(f"- dropout + L2 + clip + cosine epoch / default epoch (median of per-round ratios): "
          f"{ratio('ours: + dropout 0.2, L2 1e-4, clip_norm 1, cosine', default):.2f} (target <= 1.3)")
    print(f"- epoch wall time with a 5,000 validation split / without (median of per-round ratios): "
          f"{ratio('ours, wall: 60,000 minus a 5,000 validation split', 'ours, wall: 55,000 fitted, no validation'):.2f}"
          f" (target <= 1.10)")
    print(f"- compile before epoch 1: dropout 0.2 run {fresh_compile:.2f} s; then dropout 0.3 (loop reused) "
          f"{reused_compile:.2f} s")
    if not args.toolkit:
        print(f"- evaluating 10,000 test images: {statistics.median(evals):.3f} s (target <= 0.15)")
        print(f"- worst gap between progress events (1568-500 net): {gap:.2f} s (target <= 0.5)")
        print(f"- stop latency: {stop_latency:.2f} s (target <= 1)")
        print(f"- snapshots: {snap:.2f} s each, {epoch:.2f} s per training epoch in the same run; 10 snapshots "
              f"in 60 epochs add {overhead:.1%} (target <= 5%)")


if __name__ == "__main__":
    main()
