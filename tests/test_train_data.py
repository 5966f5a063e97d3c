"""What the trainer does with its data: the examples it is told to use, a fresh order every epoch,
PCA chosen by variance, and Fashion-MNIST end to end. Real images, small subsets."""

import numpy as np
import pytest

from mnist_core import data
from mnist_core.config import RunConfig
from mnist_core.data import Dataset
from mnist_core.runner import execute
from mnist_core.store import RunStore
from mnist_core.train import train


def test_only_the_asked_number_of_examples_is_trained_on(small_mnist):
    # 700 of the 2,100 images at batch 70: ten steps an epoch, not thirty.
    events = []
    result = train(RunConfig(train_examples=700, epochs=2, learning_rate=0.1), events.append, dataset=small_mnist)
    setup = next(e for e in events if e["event"] == "setup")
    last_steps = [e["step"] for e in events if e["event"] == "progress" and e["step"] == e["steps"]]
    assert setup["steps_per_epoch"] == 10 and last_steps == [10, 10]
    # Train accuracy is a share of the 700 examples seen in the epoch.
    assert all(abs(h["train_accuracy"] * 700 - round(h["train_accuracy"] * 700)) < 1e-6 for h in result.history)


def test_every_epoch_draws_a_new_order_so_every_example_is_learned():
    # 139 random images with random labels and batches of 70: one step an epoch, and 69 examples
    # left out of each epoch. Reshuffled every epoch, the net sees (and memorises) all of them; with
    # one fixed order it would never see the same 69 and get them right only by chance (~10%).
    rng = np.random.default_rng(0)
    x = rng.random((139, 784), dtype=np.float32)
    y = rng.integers(0, 10, 139).astype(np.int32)
    memorise = Dataset("mnist", "random images", x, y, x, y)  # tested on the training set itself
    config = RunConfig(hidden=(256,), optimizer="adam", learning_rate=0.003, batch_size=70, train_examples=139,
                       epochs=150, seed=1)
    result = train(config, dataset=memorise)
    assert result.status == "finished"
    # A fixed order gives at most 70/139 + 0.1 * 69/139 = 0.55.
    assert result.history[-1]["test_accuracy"] > 0.9


def test_pca_by_variance_trains_on_the_components_it_found(tmp_path, small_mnist, monkeypatch):
    monkeypatch.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
    run = execute(RunConfig(pca_variance=0.8, train_examples=2100, epochs=2, learning_rate=0.1), RunStore(tmp_path))
    k = run.data["pca"]["components"]
    assert run.status == "finished" and 10 < k < 154  # 80% of the variance needs far fewer than 95%
    assert run.data["pca"]["explained_variance"] >= 0.8
    # The stored parameter count is the built model's: a network whose input is the k components.
    assert run.data["param_count"] == RunConfig(pca_variance=0.8).param_count(k)
    assert run.history[-1]["test_accuracy"] > 0.75  # and it learns


FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(scope="module")
def fashion():
    if not data.available("fashion_mnist"):
        pytest.skip(f"Fashion-MNIST not installed: apt-get install dataset-fashion-mnist ({FASHION})")
    return data.load("fashion_mnist")


def test_fashion_mnist_end_to_end(tmp_path, fashion, monkeypatch, mnist):
    # A run on 3,500 Fashion-MNIST images, stored and listed like any other, learns clothes: well above
    # chance, and the stored record says which set it learned.
    assert fashion.x_train.shape == (60000, 784) and not np.array_equal(fashion.y_test, mnist.y_test)
    store = RunStore(tmp_path)
    config = RunConfig(dataset="fashion_mnist", train_examples=3500, epochs=2, learning_rate=0.1)
    run = execute(config, store)
    assert run.status == "finished" and run.config.dataset == "fashion_mnist"
    assert "fashion" in run.data["source"].lower() and run.data["label"].startswith("fashion")
    assert 0.6 < run.history[-1]["test_accuracy"] < 0.95  # clothes are harder than digits
    assert [r.run_id for r in store.list()] == [run.run_id]
