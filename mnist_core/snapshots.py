"""Snapshots: what the network looks like inside at a few epochs, kept beside run.json.

At log-spaced epochs (1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 90, ... and always the last) the trainer
takes a snapshot after the epoch's evaluation, off the per-step hot path, and stores it as
``snapshots/epoch-NNNN.npz`` in the run folder. Each holds, compactly (uint8 or float16):

- ``first_weights``: every first-layer unit's weights as a 28x28 picture (uint8, 128 = 0, scaled per
  unit by ``first_scale``). A PCA run's first layer sees components, not pixels; since the PCA is
  linear, ``(x - mean) @ C.T @ W`` equals ``x @ (C.T @ W)`` plus a constant, so ``C.T @ W`` is exactly
  the picture a raw-pixel network would need for the same unit;
- ``unit_norm``, ``unit_dead`` (share of the sample for which the unit's input is <= 0) and
  ``unit_effect`` (the unit's pull on each class logit through the network's linear path: the product
  of the later weight matrices, activations and batch norm left out, a first-order picture);
- per layer, histograms of weights, biases, pre-activations (on the sample) and weight gradients (on
  the health probe's training images), with bins fixed per layer at the first snapshot so epochs
  line up (values outside fall in the end bins);
- the last hidden layer's activations for a fixed sample of 2,000 test images (the same images in
  every run), their 2-D PCA projection, rotated and reflected onto the previous snapshot's (orthogonal
  Procrustes) so the picture does not flip between epochs, and the sample's labels and predictions;
- the confusion matrix on the whole test set and every misclassified test image's id and class
  probabilities, most confident mistakes first.

A file on disk is hostile input: ``load`` reads it without pickle, checks every array's name, dtype
and shape (and the uncompressed size before decompressing), and a bad file is "no snapshot" with a
one-sentence reason, never a traceback.
"""

from __future__ import annotations

import logging
import math
import os
import re
import zipfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FOLDER = "snapshots"
SAMPLE_SIZE = 2000
BINS = 40
HEAD = (1, 2, 3, 5, 8, 13, 20, 30, 45, 60)
KINDS = ("weights", "biases", "activations", "gradients")  # histogram kinds; activations = pre-activations
MAX_FILE_BYTES = 64 * 2**20
MAX_UNITS = 4096
_NAME = re.compile(r"^epoch-(\d{4})\.npz$")


class SnapshotError(ValueError):
    """A snapshot file is missing, corrupt or not ours. The message is one sentence."""


def schedule(epochs: int) -> list[int]:
    """The epochs of ``epochs`` that get a snapshot: 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, then x1.5
    rounded to fives (90, 135, 200, 300, 450), and always the last."""
    marks = list(HEAD)
    while marks[-1] < epochs:
        marks.append(int(5 * round(marks[-1] * 1.5 / 5)))
    out = [e for e in marks if e < epochs]
    return out + [epochs]


def sample_ids(n_test: int) -> np.ndarray:
    """The fixed test images whose hidden space is kept: the same in every run of a dataset."""
    ids = np.random.default_rng(0).permutation(n_test)[:SAMPLE_SIZE]
    return np.sort(ids)


# --- pure numpy pieces (tested on their own) ------------------------------------------------------------
def pixel_weights(kernel: np.ndarray, pca_components: np.ndarray | None) -> np.ndarray:
    """First-layer weights in pixel space, (units, 784): the kernel itself, or ``C.T @ W`` for PCA."""
    w = kernel if pca_components is None else pca_components.T @ kernel
    return np.ascontiguousarray(w.T, dtype=np.float32)


def quantise_signed(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows to uint8 around 128 (= 0), each scaled by its largest magnitude."""
    scale = np.abs(w).max(axis=1).astype(np.float32)
    q = np.rint(w / np.maximum(scale, 1e-12)[:, None] * 127) + 128
    return q.astype(np.uint8), scale


def dequantise_signed(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return (q.astype(np.float32) - 128) / 127 * scale.reshape(-1, *([1] * (q.ndim - 1)))


def quantise_range(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns to uint8 between each column's min and max."""
    lo, hi = a.min(axis=0).astype(np.float32), a.max(axis=0).astype(np.float32)
    q = np.rint((a - lo) / np.maximum(hi - lo, 1e-12) * 255)
    return q.astype(np.uint8), lo, hi


def dequantise_range(q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) / 255 * (hi - lo) + lo


def project_2d(h: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """PCA of ``h`` to two dimensions, aligned with ``previous`` (same points, an earlier epoch) by the
    orthogonal map (rotation or reflection) that brings it closest: scipy's orthogonal Procrustes.
    Without a previous projection the signs are fixed so that each axis's largest loading is positive."""
    from scipy.linalg import orthogonal_procrustes

    centred = (h - h.mean(axis=0)).astype(np.float32)
    # The top two eigenvectors of the (units x units) covariance: the same axes as an SVD of the
    # (2000 x units) data, far cheaper.
    _, vectors = np.linalg.eigh(centred.T @ centred)
    axes = vectors[:, ::-1][:, :2]
    if axes.shape[1] < 2:
        axes = np.pad(axes, ((0, 0), (0, 2 - axes.shape[1])))
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), [0, 1]])
    p = centred @ (axes * np.where(signs == 0, 1, signs))
    if previous is not None and len(previous) == len(p):
        r, _ = orthogonal_procrustes(p, previous)
        p = p @ r
    return p.astype(np.float32)


def histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in fixed bins; values outside the edges are counted in the end bins."""
    lo, hi = float(edges[0]), float(edges[-1])  # equal-width bins: numpy's fast path, no sorting
    counts, _ = np.histogram(np.clip(values, lo, hi), bins=len(edges) - 1, range=(lo, hi))
    return counts.astype(np.uint32)


def fixed_edges(values: np.ndarray) -> np.ndarray:
    """Bins for one layer's quantity for the whole run: symmetric, twice the first snapshot's range."""
    m = float(np.abs(values).max()) if values.size else 1.0
    m = 2 * m if m > 0 and math.isfinite(m) else 1.0
    return np.linspace(-m, m, BINS + 1, dtype=np.float32)


# --- the file format ------------------------------------------------------------------------------------
def _spec(layers: int, units: int, last: int, n: int, wrong: int) -> dict[str, tuple[str, tuple]]:
    """Every array a snapshot has: dtype kind+size and shape, given its sizes."""
    spec = {
        "epoch": ("i8", ()), "first_weights": ("u1", (units, 28, 28)), "first_scale": ("f4", (units,)),
        "unit_norm": ("f4", (units,)), "unit_dead": ("f2", (units,)), "unit_effect": ("f2", (units, 10)),
        "hidden": ("u1", (n, last)), "hidden_lo": ("f4", (last,)), "hidden_hi": ("f4", (last,)),
        "projection": ("f2", (n, 2)), "sample_ids": ("u4", (n,)), "sample_labels": ("u1", (n,)),
        "sample_pred": ("u1", (n,)), "confusion": ("u4", (10, 10)),
        "wrong_ids": ("u4", (wrong,)), "wrong_proba": ("f2", (wrong, 10)),
    }
    for kind in KINDS:
        spec[f"hist_{kind}"] = ("u4", (layers, BINS))
        spec[f"edges_{kind}"] = ("f4", (layers, BINS + 1))
    return spec


def layer_name(index: int, layers: int) -> str:
    """Layer i of a snapshot's per-layer arrays: hidden_1 ... hidden_n, then output."""
    return "output" if index == layers - 1 else f"hidden_{index + 1}"


def path_for(folder: Path, epoch: int) -> Path:
    return Path(folder) / FOLDER / f"epoch-{epoch:04d}.npz"


def save(run_folder: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write atomically (temporary name, then rename), so a reader never sees half a file."""
    target = path_for(run_folder, int(arrays["epoch"]))
    target.parent.mkdir(exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        # An .npz is a zip of .npy files. Written by hand to choose the compression: the weight pictures
        # are noise to zlib (stored as they are), the rest is deflated at the fastest level.
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for name, value in arrays.items():
                kind = zipfile.ZIP_STORED if name == "first_weights" else zipfile.ZIP_DEFLATED
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = kind
                with z.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return target


def epochs_stored(run_folder: Path) -> list[int]:
    """Epochs with a snapshot file (not yet validated), in order."""
    folder = Path(run_folder) / FOLDER
    if not folder.is_dir() or folder.is_symlink():
        return []
    found = []
    for p in folder.iterdir():
        m = _NAME.match(p.name)
        if m and p.is_file() and not p.is_symlink():
            found.append(int(m.group(1)))
    return sorted(found)


def load(run_folder: Path, epoch: int) -> dict[str, np.ndarray]:
    """One snapshot's arrays, checked; raises SnapshotError with a reason for anything else."""
    path = path_for(run_folder, epoch)
    where = f"snapshot {path.name}"
    try:
        if path.is_symlink() or not path.is_file():
            raise SnapshotError(f"There is no {where}.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SnapshotError(f"The {where} is larger than {MAX_FILE_BYTES // 2**20} MB, so it is not ours.")
        with np.load(path, allow_pickle=False) as npz:
            infos = {i.filename: i.file_size for i in npz.zip.infolist()}
            if sum(infos.values()) > 4 * MAX_FILE_BYTES:  # a zip bomb claims little and unpacks to much
                raise SnapshotError(f"The {where} unpacks to more than {4 * MAX_FILE_BYTES // 2**20} MB.")
            arrays = {k: npz[k] for k in npz.files}
    except SnapshotError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as e:
        raise SnapshotError(f"The {where} is unreadable ({str(e)[:100]}).") from None
    check(arrays, where)
    if int(arrays["epoch"]) != epoch:
        raise SnapshotError(f"The {where} says it is from epoch {int(arrays['epoch'])}.")
    return arrays


def check(arrays: dict[str, np.ndarray], where: str = "snapshot") -> None:
    """Names, dtypes and shapes as ``_spec`` says, sizes within bounds, labels and ids in range."""
    try:
        units, last = arrays["first_weights"].shape[0], arrays["hidden"].shape[1]
        layers, n = arrays["hist_weights"].shape[0], arrays["hidden"].shape[0]
        wrong = arrays["wrong_ids"].shape[0]
    except (KeyError, IndexError, AttributeError):
        raise SnapshotError(f"The {where} lacks the arrays of a snapshot.") from None
    if not (1 <= units <= MAX_UNITS and 1 <= last <= MAX_UNITS and 2 <= layers <= 5
            and 1 <= n <= SAMPLE_SIZE and wrong <= 100_000):
        raise SnapshotError(f"The {where} has sizes no network here has.")
    spec = _spec(layers, units, last, n, wrong)
    if set(arrays) != set(spec):
        raise SnapshotError(f"The {where} has arrays {sorted(set(arrays) ^ set(spec))[:4]} it should not have or lacks.")
    for name, (dtype, shape) in spec.items():
        a = arrays[name]
        if a.dtype.str[1:] != dtype or a.shape != shape:
            raise SnapshotError(f"The {where}'s {name} is {a.dtype} {a.shape}, not {np.dtype(dtype)} {shape}.")
    for name in ("sample_labels", "sample_pred"):
        if arrays[name].size and arrays[name].max() > 9:
            raise SnapshotError(f"The {where}'s {name} has a class above 9.")
    floats = [arrays[k] for k, (d, _) in spec.items() if d[0] == "f"]
    if not all(np.isfinite(a).all() for a in floats):
        raise SnapshotError(f"The {where} has values that are not finite numbers.")


def load_all(run_folder: Path) -> tuple[dict[int, dict], list[str]]:
    """Every valid snapshot of a run by epoch, and one sentence per file that was skipped."""
    good, problems = {}, []
    for epoch in epochs_stored(run_folder):
        try:
            good[epoch] = load(run_folder, epoch)
        except SnapshotError as e:
            problems.append(str(e))
    return good, problems


# --- taking a snapshot (TensorFlow side; only the trainer imports this part) ---------------------------
class Snapshotter:
    """Built once per run by the trainer; ``epoch_end`` takes a snapshot when the schedule says so and
    hands it to ``emit`` as ``{"event": "snapshot", "epoch", "arrays"}`` (the runner stores it and
    writes its TensorBoard summaries; it never crosses a process boundary)."""

    def __init__(self, config, model, x_test, y_test: np.ndarray, pca_transform, probe_x, probe_y):
        """``x_test`` is the network's test input (a tensor, PCA-projected for a PCA run), ``y_test``
        its labels; ``probe_x``/``probe_y`` the health probe's training images, for the gradients."""
        from .tf_env import keras, tf

        self.due = set(schedule(config.epochs))
        self.model, self.n_hidden = model, len(config.hidden)
        self.x_test, self.y_test = x_test, y_test
        self.ids = sample_ids(len(y_test))
        self.components = None if pca_transform is None else pca_transform.components_.astype(np.float32)
        self.probe_x, self.probe_y = probe_x, probe_y
        pre = "bn" if config.batch_norm else "dense"
        layers = [model.get_layer(f"dense_{i}") for i in range(1, self.n_hidden + 1)] + [model.get_layer("logits")]
        self.kernels = [layer.kernel for layer in layers]
        self.biases = [layer.bias if layer.bias is not None else model.get_layer(f"bn_{i}").beta
                       for i, layer in enumerate(layers, start=1)]
        outputs = [model.get_layer(f"{pre}_{i}").output for i in range(1, self.n_hidden + 1)]
        outputs += [model.get_layer(f"act_{self.n_hidden}").output, model.output]
        self.inner = keras.Model(model.inputs, outputs)  # shares the model's layers
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        # One traced graph for the forward pass over the test set and the probe's gradients: eager
        # Keras would dispatch op by op (several times slower); traced once per run, at the first snapshot.
        self._measure = tf.function(self._measure_graph)
        self.edges: dict[str, np.ndarray] = {}
        self.previous: np.ndarray | None = None

    def _measure_graph(self):
        from .tf_env import tf

        *pre, hidden, logits = self.inner(self.x_test, training=False)
        with tf.GradientTape() as tape:
            loss = self.loss_fn(self.probe_y, self.model(self.probe_x, training=False))
        return (*pre, hidden, logits, tf.nn.softmax(logits), *tape.gradient(loss, self.kernels))

    def epoch_end(self, epoch: int, emit, last: bool = False) -> None:
        """After an epoch's evaluation: a snapshot if the schedule says so, or if it is the last one."""
        if epoch not in self.due and not last:
            return
        try:
            arrays = self.take(epoch)
        except Exception:  # noqa: BLE001 - a snapshot is a view of the run, never a reason to lose it
            log.exception("snapshot of epoch %d failed; the run goes on without it", epoch)
            return
        emit({"event": "snapshot", "epoch": epoch, "arrays": arrays})

    def take(self, epoch: int) -> dict[str, np.ndarray]:
        outputs = [t.numpy() for t in self._measure()]
        n = self.n_hidden
        pre, hidden_all, logits, proba, grads = outputs[:n], outputs[n], outputs[n + 1], outputs[n + 2], outputs[n + 3:]
        kernels = [k.numpy() for k in self.kernels]
        biases = [b.numpy() for b in self.biases]
        out: dict[str, np.ndarray] = {"epoch": np.array(epoch, np.int64)}

        w = pixel_weights(kernels[0], self.components)
        out["first_weights"], out["first_scale"] = quantise_signed(w)
        out["first_weights"] = out["first_weights"].reshape(-1, 28, 28)
        out["unit_norm"] = np.linalg.norm(w, axis=1).astype(np.float32)
        sample_pre = [p[self.ids] for p in pre] + [logits[self.ids]]
        out["unit_dead"] = (sample_pre[0] <= 0).mean(axis=0).astype(np.float16)
        effect = kernels[1]
        for k in kernels[2:]:
            effect = effect @ k
        out["unit_effect"] = effect.astype(np.float16)

        per_kind = {"weights": kernels, "biases": biases, "activations": sample_pre, "gradients": grads}
        for kind, values in per_kind.items():
            if kind not in self.edges:
                self.edges[kind] = np.stack([fixed_edges(v) for v in values])
            out[f"edges_{kind}"] = self.edges[kind]
            out[f"hist_{kind}"] = np.stack([histogram(v, e) for v, e in zip(values, self.edges[kind])])

        hidden = hidden_all[self.ids]
        out["hidden"], out["hidden_lo"], out["hidden_hi"] = quantise_range(hidden)
        self.previous = project_2d(hidden, self.previous)
        out["projection"] = self.previous.astype(np.float16)
        pred = proba.argmax(axis=1)
        out["sample_ids"] = self.ids.astype(np.uint32)
        out["sample_labels"] = self.y_test[self.ids].astype(np.uint8)
        out["sample_pred"] = pred[self.ids].astype(np.uint8)
        cm = np.zeros((10, 10), np.uint32)
        np.add.at(cm, (self.y_test, pred), 1)
        out["confusion"] = cm
        wrong = np.flatnonzero(pred != self.y_test)
        wrong = wrong[np.argsort(-proba[wrong, pred[wrong]], kind="stable")]
        out["wrong_ids"] = wrong.astype(np.uint32)
        out["wrong_proba"] = proba[wrong].astype(np.float16)
        return out


def weight_grid(first_weights: np.ndarray, limit: int = 400) -> np.ndarray:
    """Up to ``limit`` units' 28x28 uint8 pictures tiled in a near-square grid with 1-pixel gaps (uint8)."""
    w = first_weights[:limit]
    cols = math.ceil(math.sqrt(len(w)))
    rows = math.ceil(len(w) / cols)
    grid = np.full((rows * 29 + 1, cols * 29 + 1), 255, np.uint8)
    for i, img in enumerate(w):
        r, c = divmod(i, cols)
        grid[1 + r * 29:1 + r * 29 + 28, 1 + c * 29:1 + c * 29 + 28] = img
    return grid
