"""Datasets: find MNIST (or Fashion-MNIST), check it, load it once, and compress it with PCA.

Where the images come from, in order:
1. an explicit path: the ``path`` argument (the CLI's ``--data``), else the environment variable
   ``MNIST_DATA`` (``FASHION_MNIST_DATA`` for Fashion-MNIST). It may be a Keras-layout ``.npz``
   file, a folder holding the four IDX files (``.gz`` or not, the layout the classic
   ``read_data_sets(dir)`` reads), or a folder holding ``mnist.npz`` or ``mnist-idx/``;
2. Keras' download cache, ``~/.keras/datasets/`` (read with numpy, never with pickle);
3. for Fashion-MNIST, Debian's ``dataset-fashion-mnist`` package in /usr/share/datasets/fashion-mnist/;
4. Keras' own download (needs internet), which fills the cache of step 2 for next time.

An explicit path that is broken is an error, not a reason to look elsewhere: the user asked for it.
Every problem becomes a DataError whose message is one sentence: the path, what is wrong, the fix.
"""

from __future__ import annotations

import gzip
import math
import os
import threading
import time
import zipfile
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ENV_VARS = {"mnist": "MNIST_DATA", "fashion_mnist": "FASHION_MNIST_DATA"}
DISPLAY_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
SYSTEM_DIRS = {"fashion_mnist": [Path("/usr/share/datasets/fashion-mnist")]}
IDX_FILES = {  # split -> (images, labels), the names LeCun published
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
SUBSET_SEED = 20170101  # the fixed shuffle that picks a training subset, the same for every run


class DataError(RuntimeError):
    """The dataset is missing or malformed. The message says where, what and how to fix it."""


@dataclass(eq=False)
class Dataset:
    """Images as float32 rows of 784 values in [0, 1], labels as int32 in 0..9."""

    name: str
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    _subset_order: np.ndarray | None = field(default=None, repr=False)
    tensors: dict = field(default_factory=dict, repr=False)  # TensorFlow views, filled by train.py

    def subset(self, n: int) -> np.ndarray | slice:
        """Indices of ``n`` training examples: the first ``n`` of one fixed shuffle, so runs with
        equal ``n`` see the same data whatever their seed. All of them when ``n`` is the total."""
        total = len(self.y_train)
        if n > total:
            raise DataError(f"{DISPLAY_NAMES[self.name]} at {self.source} has only {total} training "
                            f"examples, fewer than the {n} asked for: lower train_examples.")
        if n == total:
            return slice(None)
        if self._subset_order is None:
            self._subset_order = np.random.default_rng(SUBSET_SEED).permutation(total)
        return np.sort(self._subset_order[:n])


# --- finding the files -------------------------------------------------------------------------
def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def _candidates(dataset: str) -> list[Path]:
    cache = keras_cache_dir()
    if dataset == "mnist":
        found = [cache / "mnist.npz"]
    else:
        found = [cache / "fashion-mnist"]
    return found + SYSTEM_DIRS.get(dataset, [])


def _idx_path(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _has_idx(folder: Path) -> bool:
    return all(_idx_path(folder, stem) for pair in IDX_FILES.values() for stem in pair)


def _resolve_explicit(path: Path, dataset: str) -> Path:
    """An .npz file or an IDX folder, from what the user pointed at."""
    env = ENV_VARS[dataset]
    if not path.exists():
        raise DataError(f"{path} does not exist: point --data or {env} at a {DISPLAY_NAMES[dataset]} "
                        f".npz file or a folder of the four IDX files.")
    if path.is_file():
        return path
    if _has_idx(path):
        return path
    stem = "mnist" if dataset == "mnist" else "fashion-mnist"
    for inner in (path / f"{stem}.npz", path / f"{stem}-idx"):
        if inner.is_file() or (inner.is_dir() and _has_idx(inner)):
            return inner
    raise DataError(f"{path} holds neither {stem}.npz nor the four IDX files "
                    f"({', '.join(s for pair in IDX_FILES.values() for s in pair)}, .gz or not): "
                    f"point {env} at the right file or folder.")


def find_source(dataset: str = "mnist", path: str | os.PathLike | None = None) -> Path | None:
    """Where the dataset will be read from; None means only Keras' download is left."""
    if dataset not in ENV_VARS:
        raise DataError(f"Unknown dataset {dataset!r}: choose one of {', '.join(ENV_VARS)}.")
    explicit = path if path is not None else os.environ.get(ENV_VARS[dataset]) or None
    if explicit is not None:
        return _resolve_explicit(Path(explicit).expanduser(), dataset)
    for cand in _candidates(dataset):
        if cand.is_file() or (cand.is_dir() and _has_idx(cand)):
            return cand
    return None


# --- reading and checking ----------------------------------------------------------------------
MAX_IDX_BYTES = 2**27  # 128 MB: the largest MNIST file (60,000 training images) holds 47 MB


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """Parse one IDX file: magic (0, 0, dtype 0x08 = ubyte, ndim), ndim big-endian sizes, data.
    The header is checked before the data is read, so a header promising terabytes reads nothing."""
    header = 4 + 4 * ndim
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            head = f.read(header)
            if len(head) < header or head[:2] != b"\0\0" or head[2] != 0x08 or head[3] != ndim:
                raise DataError(f"{path} is not an IDX file of unsigned bytes with {ndim} dimension(s): "
                                f"check that the file names match their contents.")
            dims = tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
            expected = math.prod(dims)  # Python integers: no overflow, whatever the header says
            if expected > MAX_IDX_BYTES:
                raise DataError(f"{path} has a header promising {' x '.join(map(str, dims))} values, far more "
                                f"than any MNIST file: it is not an MNIST file; download it again.")
            body = f.read(expected + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path} cannot be read ({e}): it is probably truncated; download it again.") from None
    if len(body) < expected:
        raise DataError(f"{path} is truncated: its header promises {expected} bytes of data but it "
                        f"holds {len(body)}; download it again.")
    if len(body) > expected:
        raise DataError(f"{path} holds more data than its header promises ({expected} bytes): it is "
                        f"damaged; download it again.")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for split, (images, labels) in IDX_FILES.items():
        for stem, key, ndim in ((images, f"x_{split}", 3), (labels, f"y_{split}", 1)):
            path = _idx_path(folder, stem)
            if path is None:
                raise DataError(f"{folder} has no {stem} (or {stem}.gz): add the missing IDX file.")
            arrays[key] = _read_idx(path, ndim)
    return arrays


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in NPZ_KEYS if k not in f.files]
            if missing:
                raise DataError(f"{path} lacks the array {missing[0]!r}: a Keras-layout MNIST .npz has "
                                f"{', '.join(NPZ_KEYS)}.")
            return {k: f[k] for k in NPZ_KEYS}
    except DataError:
        raise
    except ValueError as e:
        if "pickle" in str(e):
            raise DataError(f"{path} contains pickled Python objects, which are never loaded: "
                            f"use a .npz of plain uint8 arrays.") from None
        raise DataError(f"{path} is not a readable .npz file ({e}): download it again.") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{path} is not a readable .npz file ({e}): it is probably truncated; "
                        f"download it again.") from None


def validate(arrays: dict[str, np.ndarray], where: str) -> None:
    """Shapes (N, 28, 28) or (N, 784), uint8 pixels, labels 0-9, as many labels as images."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8:
            raise DataError(f"{where}: x_{split} has dtype {x.dtype}, expected uint8 pixels 0-255.")
        if x.ndim not in (2, 3) or x.shape[1:] not in ((28, 28), (784,)) or len(x) == 0:
            raise DataError(f"{where}: x_{split} has shape {x.shape}, expected (N, 28, 28) images.")
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{where}: y_{split} has shape {y.shape} and dtype {y.dtype}, "
                            f"expected a 1-D array of integer labels.")
        if len(y) != len(x):
            raise DataError(f"{where}: {len(x)} {split} images but {len(y)} labels; they must match.")
        if y.min() < 0 or y.max() > 9:
            raise DataError(f"{where}: y_{split} has labels from {y.min()} to {y.max()}, expected 0-9.")


def aligned_float32(shape: tuple[int, ...], align: int = 64) -> np.ndarray:
    """An empty float32 array whose data starts on a 64-byte boundary, so TensorFlow can use the very
    same memory as a tensor (no second copy of the training set; see train._tensors)."""
    nbytes = int(np.prod(shape)) * 4
    buf = np.empty(nbytes + align, dtype=np.uint8)
    start = (-buf.ctypes.data) % align
    return buf[start:start + nbytes].view(np.float32).reshape(shape)


def _to_dataset(name: str, source: str, arrays: dict[str, np.ndarray]) -> Dataset:
    validate(arrays, source)

    def pixels(x: np.ndarray) -> np.ndarray:  # one conversion to float32, shared by every run
        out = aligned_float32((len(x), 784))
        np.divide(x.reshape(len(x), 784), np.float32(255.0), out=out)
        return out

    return Dataset(name, source, pixels(arrays["x_train"]), arrays["y_train"].astype(np.int32),
                   pixels(arrays["x_test"]), arrays["y_test"].astype(np.int32))


def read(path: Path, name: str = "mnist") -> Dataset:
    """Read and validate one .npz file or IDX folder."""
    arrays = _read_idx_folder(path) if path.is_dir() else _read_npz(path)
    return _to_dataset(name, str(path), arrays)


def _download(dataset: str) -> Dataset:
    import keras  # Only here: importing Keras costs seconds and most loads never need it.

    loader = keras.datasets.mnist if dataset == "mnist" else keras.datasets.fashion_mnist
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as e:  # noqa: BLE001 - any network or file failure gets the same advice
        env = ENV_VARS[dataset]
        raise DataError(f"{DISPLAY_NAMES[dataset]} was not found on this machine and Keras' download "
                        f"failed ({type(e).__name__}): set {env} to a {DISPLAY_NAMES[dataset]} .npz file "
                        f"or a folder of the four IDX files, or connect to the internet.") from None
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return _to_dataset(dataset, f"Keras download ({keras_cache_dir()})", arrays)


# --- the process-wide cache -------------------------------------------------------------------
_cache: dict[tuple[str, str], Dataset] = {}
_cache_lock = threading.Lock()


def load(dataset: str = "mnist", path: str | os.PathLike | None = None) -> Dataset:
    """The dataset, loaded once per process and shared by every run (treat its arrays as read-only)."""
    source = find_source(dataset, path)
    key = (dataset, str(source.resolve()) if source else "download")
    with _cache_lock:
        if key not in _cache:
            _cache[key] = read(source, dataset) if source else _download(dataset)
        return _cache[key]


def available(dataset: str) -> bool:
    """Whether the dataset can be read without a download."""
    try:
        return find_source(dataset) is not None
    except DataError:
        return False


# --- PCA ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PCAResult:
    """Inputs projected on the top principal components, and what that cost and kept."""

    x_train: np.ndarray
    x_test: np.ndarray
    components: int
    explained_variance: float  # share of the pixel variance the kept components explain
    fit_seconds: float  # time sklearn took to fit, measured when it was fitted
    cached: bool  # True when this process had already fitted it for an earlier run
    pca: object = field(repr=False)  # the fitted sklearn PCA (for reconstructions)


PCA_CACHE_SIZE = 4  # fitted PCAs kept per process; each holds its projected training set in memory
_pca_cache: "OrderedDict[tuple[str, str, float], PCAResult]" = OrderedDict()
_pca_lock = threading.Lock()


def pca(data: Dataset, components: int = 0, variance: float = 0.0) -> PCAResult:
    """Fit PCA on the whole training set (it is unsupervised) and project train and test on it.

    PCA finds the orthogonal directions along which the pixels vary most; keeping the top k of
    them keeps most of the image while shrinking the first layer's input from 784 to k. sklearn
    picks its solver; for 60,000 x 784 it eigen-decomposes the 784 x 784 covariance, which is fast.
    Cached per (dataset, components or variance): a second run does not refit.
    """
    from sklearn.decomposition import PCA  # sklearn import is slow; only PCA runs pay for it

    if bool(components) == bool(variance):
        raise ValueError("give exactly one of components and variance")
    key = (data.name, data.source, components or variance)
    with _pca_lock:
        hit = _pca_cache.get(key)
        if hit is not None:
            _pca_cache.move_to_end(key)
            return PCAResult(**{**hit.__dict__, "cached": True})
        start = time.perf_counter()
        model = PCA(n_components=components or variance, random_state=0).fit(data.x_train)
        fit_seconds = time.perf_counter() - start
        def project(x: np.ndarray) -> np.ndarray:
            out = aligned_float32((len(x), int(model.n_components_)))
            out[:] = model.transform(x)
            return out

        result = PCAResult(
            x_train=project(data.x_train), x_test=project(data.x_test),
            components=int(model.n_components_),
            explained_variance=float(model.explained_variance_ratio_.sum()),
            fit_seconds=fit_seconds, cached=False, pca=model)
        _pca_cache[key] = result
        while len(_pca_cache) > PCA_CACHE_SIZE:
            _pca_cache.popitem(last=False)
        return result


_spectrum_cache: dict[tuple[str, str], np.ndarray] = {}


def cumulative_variance(data: Dataset) -> np.ndarray:
    """Share of variance kept by the first 1, 2, ..., 784 components (index k-1 for k components)."""
    from sklearn.decomposition import PCA

    key = (data.name, data.source)
    with _pca_lock:
        if key not in _spectrum_cache:
            ratios = PCA(random_state=0).fit(data.x_train).explained_variance_ratio_
            _spectrum_cache[key] = np.minimum(np.cumsum(ratios), 1.0)
        return _spectrum_cache[key]
