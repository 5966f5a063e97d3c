"""A saved model in the hands of someone without this project: the five-line snippet the Run details
page shows, run as text against a real run's model in a Python that imports nothing of ours."""

import ast
import os
import subprocess
import sys

import numpy as np
import pytest

from mnist_core.config import RunConfig
from mnist_core.export import model_file_name, usage_snippet
from mnist_core.runner import execute
from mnist_core.store import RunStore

# This machine has no internet, so Keras' MNIST download is replaced by the same arrays read from
# MNIST_DATA. That is the only line run before the snippet; the snippet itself is run as shown.
OFFLINE_DOWNLOAD = """\
import keras, numpy as np
def _load_data(path="mnist.npz"):
    with np.load({npz!r}, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
keras.datasets.mnist.load_data = _load_data
"""
NOTHING_OF_OURS = """
import sys
ours = sorted(m for m in sys.modules if m.split(".")[0] in ("mnist_core", "app", "ui", "tests", "bench"))
assert not ours, ours
"""


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, mnist_path):
    """A real run on real MNIST with PCA (the projection must travel inside the model): 2 quick epochs."""
    store = RunStore(tmp_path_factory.mktemp("runs"), None)
    config = RunConfig(train_examples=6000, epochs=2, learning_rate=0.1, hidden=(64,), pca=50)
    run = execute(config, store, data_path=str(mnist_path))
    assert run.status == "finished" and run.model_path
    return run


def test_the_snippet_has_five_lines_and_names_the_downloaded_file():
    text = usage_snippet("20260101-000000-300-100-relu-sgd-abcdef", "fashion_mnist")
    assert len(text.strip().splitlines()) == 5
    assert '"20260101-000000-300-100-relu-sgd-abcdef.keras"' in text and "fashion_mnist.load_data" in text
    ast.parse(text)


def test_the_snippet_runs_with_plain_keras_on_uint8_images_and_matches_the_run(real_run, mnist_path, tmp_path):
    (tmp_path / model_file_name(real_run.run_id)).write_bytes(real_run.model_path.read_bytes())
    npz = mnist_path / "mnist.npz" if mnist_path.is_dir() else mnist_path
    script = OFFLINE_DOWNLOAD.format(npz=str(npz)) + usage_snippet(real_run.run_id, "mnist") + NOTHING_OF_OURS
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MNIST_DATA")}
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith(("{", "["))]
    scores = ast.literal_eval(lines[0])
    # The raw uint8 test images give the accuracy the run measured on its float inputs (not the 75% that
    # unscaled pixels gave before), and the loss is a probability loss (not one on logits).
    assert scores["accuracy"] == pytest.approx(real_run.history[-1]["test_accuracy"], abs=0.002)
    assert scores["accuracy"] > 0.85
    assert scores["loss"] == pytest.approx(real_run.history[-1]["test_loss"], rel=0.02)
    predicted, truth = lines[1].split("] [")
    assert predicted.count(" ") >= 4 and truth.strip("[]").split() == ["7", "2", "1", "0", "4"]


def test_every_layout_and_scale_gives_the_same_probabilities(real_run, mnist):
    """uint8 0-255 and float 0-1, (N, 28, 28) and (N, 784) and (N, 28, 28, 1): one answer."""
    import keras

    model = keras.saving.load_model(real_run.model_path)  # Keras' defaults: safe mode, compiled
    x = mnist.x_test[:200]  # float32 0-1, flat
    uint8 = np.round(x * 255).astype(np.uint8)
    reference = np.asarray(model(x))
    assert reference.shape == (200, 10) and np.allclose(reference.sum(axis=1), 1, atol=1e-5)
    for variant in (uint8, uint8.reshape(-1, 28, 28), uint8.reshape(-1, 28, 28, 1), x.reshape(-1, 28, 28),
                    uint8.astype(np.float32), (x * 255).astype(np.float64)):
        np.testing.assert_allclose(np.asarray(model(variant)), reference, atol=2e-3)
