"""Shared fixtures. The real MNIST comes from $MNIST_DATA (CI: ../shared/data); tests that learn use it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Training workers skip their warm-up (a default-net epoch and the estimate's calibration, about 4 s
# each start); test_worker.py turns it back on to test it.
os.environ.setdefault("MNIST_WORKER_WARM_UP", "0")
PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared" / "data"


def mnist_location() -> Path | None:
    env = os.environ.get("MNIST_DATA")
    if env:
        return Path(env)
    return SHARED if SHARED.exists() else None


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """No test writes into the project's cached_runs/: user runs go to a temporary folder."""
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("MNIST_REFERENCE_RUNS", "")


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    where = mnist_location()
    if where is None or not where.exists():
        pytest.skip("real MNIST not found: set MNIST_DATA to ../shared/data (CI does)")
    return where


@pytest.fixture(scope="session")
def mnist(mnist_path):
    from mnist_core import data

    return data.load("mnist", mnist_path)


@pytest.fixture(scope="session")
def small_mnist(mnist):
    """2,100 real training images (a multiple of the batch size 70) and 2,000 test images."""
    from mnist_core.data import Dataset

    return Dataset("mnist", mnist.source + " (test subset)", mnist.x_train[:2100], mnist.y_train[:2100],
                   mnist.x_test[:2000], mnist.y_test[:2000])
