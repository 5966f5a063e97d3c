import pickle

import numpy as np
import pytest

from mnist_core import data
from mnist_core.data import DataError

from tests.helpers import fake_arrays, write_idx_folder


# --- the real set ----------------------------------------------------------------------------------
def test_real_npz_is_mnist(mnist_path):
    ds = data.read(data.find_source("mnist", mnist_path))
    assert ds.x_train.shape == (60000, 784) and ds.x_test.shape == (10000, 784)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert list(ds.y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(ds.y_test[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert abs(ds.x_train.mean() - 0.1307) < 1e-3 and 0 <= ds.x_train.min() and ds.x_train.max() <= 1


def test_real_idx_folder_matches_the_npz(mnist_path, mnist):
    idx = mnist_path / "mnist-idx" if mnist_path.is_dir() else mnist_path.parent / "mnist-idx"
    ds = data.read(idx)
    assert np.array_equal(ds.y_train, mnist.y_train) and np.array_equal(ds.x_test, mnist.x_test)


def test_loaded_once_per_process(mnist_path):
    assert data.load("mnist", mnist_path) is data.load("mnist", mnist_path)


def test_environment_variable_is_used(mnist_path, monkeypatch, tmp_path):
    # A decoy Keras cache in a fresh home: if MNIST_DATA were ignored, the 50-image decoy would load.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    (tmp_path / ".keras" / "datasets").mkdir(parents=True)
    np.savez(tmp_path / ".keras" / "datasets" / "mnist.npz", **fake_arrays(n_train=50))
    monkeypatch.delenv("MNIST_DATA", raising=False)
    assert len(data.load("mnist").y_train) == 50  # the decoy is what is found without the variable
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    ds = data.load("mnist")
    assert len(ds.y_train) == 60000 and str(tmp_path) not in ds.source


# --- generated files -------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_gz_or_not(tmp_path, gz):
    arrays = fake_arrays()
    ds = data.read(write_idx_folder(tmp_path / "idx", arrays, gz))
    assert np.array_equal(ds.y_train, arrays["y_train"])
    assert np.allclose(ds.x_test[0], arrays["x_test"][0].reshape(-1) / 255.0)


def test_folder_holding_an_npz_or_idx_subfolder(tmp_path):
    np.savez(tmp_path / "mnist.npz", **fake_arrays())
    assert data.find_source("mnist", tmp_path) == tmp_path / "mnist.npz"
    other = tmp_path / "other"
    write_idx_folder(other / "mnist-idx", fake_arrays())
    assert data.find_source("mnist", other) == other / "mnist-idx"


def test_keras_cache_is_read_with_numpy(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    np.savez(tmp_path / "datasets" / "mnist.npz", **fake_arrays(n_train=50))
    ds = data.load("mnist")
    assert len(ds.y_train) == 50 and "datasets/mnist.npz" in ds.source


def test_fashion_from_debian_folder(monkeypatch, tmp_path):
    if not data.SYSTEM_DIRS["fashion_mnist"][0].is_dir():
        pytest.skip("dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
    monkeypatch.delenv("FASHION_MNIST_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    ds = data.load("fashion_mnist")
    assert ds.x_train.shape == (60000, 784) and set(np.unique(ds.y_test)) == set(range(10))


# --- broken files: one sentence naming the path, the problem and the fix ---------------------------
def _message(path, dataset="mnist"):
    with pytest.raises(DataError) as e:
        data.read(data.find_source(dataset, path), dataset)
    msg = str(e.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match="does not exist: point --data or MNIST_DATA"):
        data.find_source("mnist", tmp_path / "nope.npz")


def test_folder_without_data(tmp_path):
    with pytest.raises(DataError, match="holds neither mnist.npz nor the four IDX files"):
        data.find_source("mnist", tmp_path)


def test_truncated_gz_idx(tmp_path):
    folder = write_idx_folder(tmp_path / "idx", fake_arrays())
    f = folder / "train-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:200])
    msg = _message(folder)
    assert str(f) in msg and "truncated" in msg


def test_idx_shorter_than_its_header_says(tmp_path):
    folder = write_idx_folder(tmp_path / "idx", fake_arrays(), gz=False)
    f = folder / "t10k-labels-idx1-ubyte"
    f.write_bytes(f.read_bytes()[:-5])
    assert "is truncated: its header promises 30 bytes" in _message(folder)


def test_idx_with_wrong_magic(tmp_path):
    folder = write_idx_folder(tmp_path / "idx", fake_arrays(), gz=False)
    (folder / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x0d\x01" + bytes(8))
    assert "is not an IDX file of unsigned bytes" in _message(folder)


def test_labels_and_images_disagree(tmp_path):
    arrays = fake_arrays()
    arrays["y_train"] = arrays["y_train"][:-1]
    assert "120 train images but 119 labels" in _message(write_idx_folder(tmp_path / "i", arrays))


@pytest.mark.parametrize("key, value, fragment", [
    ("x_train", np.zeros((10, 28, 27), np.uint8), "shape (10, 28, 27)"),
    ("x_test", np.zeros((30, 28, 28), np.float64), "dtype float64"),
    ("y_train", np.full(120, 10, np.uint8), "labels from 10 to 10, expected 0-9"),
    ("y_test", np.zeros((30, 2), np.uint8), "1-D array of integer labels"),
])
def test_npz_with_wrong_contents(tmp_path, key, value, fragment):
    path = tmp_path / "mnist.npz"
    np.savez(path, **{**fake_arrays(), key: value})
    msg = _message(path)
    assert fragment in msg and str(path) in msg


def test_npz_missing_an_array(tmp_path):
    arrays = fake_arrays()
    del arrays["y_test"]
    np.savez(tmp_path / "m.npz", **arrays)
    assert "lacks the array 'y_test'" in _message(tmp_path / "m.npz")


def test_npz_with_pickled_objects_is_refused(tmp_path):
    arrays = fake_arrays()
    arrays["y_train"] = np.array([object()] * 120, dtype=object)
    np.savez(tmp_path / "evil.npz", **arrays)
    assert "pickled Python objects, which are never loaded" in _message(tmp_path / "evil.npz")


def test_a_pickle_renamed_to_npz_is_refused(tmp_path):
    (tmp_path / "evil.npz").write_bytes(pickle.dumps({"x_train": 1}))
    msg = _message(tmp_path / "evil.npz")
    assert "evil.npz" in msg


def test_truncated_npz(tmp_path):
    np.savez(tmp_path / "m.npz", **fake_arrays())
    raw = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "m.npz").write_bytes(raw[: len(raw) // 2])
    assert "not a readable .npz file" in _message(tmp_path / "m.npz")


def test_gzip_that_is_not_gzip(tmp_path):
    folder = write_idx_folder(tmp_path / "idx", fake_arrays())
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"plain text, not gzip")
    assert "cannot be read" in _message(folder)


def test_subset_larger_than_the_set(tmp_path):
    np.savez(tmp_path / "m.npz", **fake_arrays())
    ds = data.read(tmp_path / "m.npz")
    with pytest.raises(DataError, match="has only 120 training examples"):
        ds.subset(121)


def test_subset_is_fixed_and_independent_of_run(mnist):
    a, b = mnist.subset(1000), mnist.subset(1000)
    assert np.array_equal(a, b) and len(a) == 1000
    assert len(np.unique(mnist.y_train[a])) == 10  # a shuffle, not the first 1000 in file order
    assert np.array_equal(mnist.subset(500), np.sort(np.random.default_rng(data.SUBSET_SEED)
                                                     .permutation(60000)[:500]))


# --- PCA -------------------------------------------------------------------------------------------
def test_pca_by_variance_finds_154_components_for_95_percent(mnist):
    p = data.pca(mnist, variance=0.95)
    assert p.components == 154 and 0.95 <= p.explained_variance < 0.951
    assert p.x_train.shape == (60000, 154) and p.x_test.dtype == np.float32
    assert p.fit_seconds > 0


def test_pca_is_cached_per_dataset_and_components(mnist):
    first = data.pca(mnist, components=20)
    again = data.pca(mnist, components=20)
    assert again.cached and again.x_train is first.x_train and again.fit_seconds == first.fit_seconds


def test_cumulative_variance_curve(mnist):
    curve = data.cumulative_variance(mnist)
    assert len(curve) == 784 and np.all(np.diff(curve) >= -1e-7)
    assert curve[153] >= 0.95 > curve[152]


@pytest.mark.parametrize("dims", [(2**32 - 1, 2**32 - 1, 2**32 - 1), (2**21, 2**21, 2**22), (60000, 28, 2**20)])
def test_an_idx_header_promising_huge_dimensions_is_refused_before_reading(tmp_path, dims):
    """(2**21, 2**21, 2**22) multiplies to 2**64: numpy's product wrapped to 0, which matched an empty file."""
    folder = write_idx_folder(tmp_path / "idx", fake_arrays(), gz=False)
    header = bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in dims)
    (folder / "train-images-idx3-ubyte").write_bytes(header)
    assert "far more than any MNIST file" in _message(folder)
