"""A dataset file that cannot be used gives every page the missing-data explanation, never an error box."""

import pickle

import numpy as np
import pytest

from mnist_core.config import RunConfig
from tests.app.conftest import open_page, shown
from tests.helpers import fake_arrays, stored_run, write_idx_folder


def _npz(path, **changes):
    arrays = {**fake_arrays(), **changes}
    np.savez(path, **arrays)
    return path


def _pickled(path):
    arrays = fake_arrays()
    arrays["y_train"] = np.array([pickle.dumps("x")] * 120, dtype=object)
    np.savez(path, **arrays)
    return path


def _idx(folder, damage):
    write_idx_folder(folder, fake_arrays(), gz=False)
    f = folder / "train-images-idx3-ubyte"
    f.write_bytes(damage(f.read_bytes()))
    return folder


BAD_FILES = {
    "float64 pixels": (lambda d: _npz(d / "f.npz", x_train=np.zeros((120, 28, 28))), "dtype float64"),
    "labels past 9": (lambda d: _npz(d / "l.npz", y_test=np.full(30, 12, np.uint8)), "labels from 12 to 12"),
    "pickled array": (lambda d: _pickled(d / "p.npz"), "pickled Python objects"),
    "truncated IDX": (lambda d: _idx(d / "t", lambda b: b[:-100]), "is truncated"),
    "wrong magic IDX": (lambda d: _idx(d / "m", lambda b: b"\x00\x00\x0d\x03" + b[4:]), "is not an IDX file"),
}


@pytest.fixture(params=BAD_FILES.values(), ids=BAD_FILES.keys())
def bad_data(request, queue, tmp_path, monkeypatch):
    import streamlit as st
    from ui import services

    make, reason = request.param
    monkeypatch.setenv("MNIST_DATA", str(make(tmp_path)))
    monkeypatch.setattr(services, "_datasets", {})  # what a fresh server has loaded: nothing
    st.cache_data.clear()
    yield reason
    st.cache_data.clear()  # the Train page's variance curve cached for this bad file goes too


def _explains(at, reason):
    assert not at.exception, "the generic error box"
    errors = [shown(e.value) for e in at.error]
    assert any(reason in e and "MNIST is not available" in e for e in errors), errors
    assert any("How to provide it" in m.value and "MNIST_DATA" in m.value for m in at.markdown)


def test_pca_explorer(bad_data):
    _explains(open_page("pca"), bad_data)


def test_run_details_of_any_run(bad_data, queue):
    run = stored_run(queue.store, RunConfig(epochs=1), [0.9])
    queue.store.update(run.run_id, analysis={
        "confusion": [[1] * 10] * 10, "per_class_accuracy": [0.9] * 10, "misclassified_total": 1,
        "misclassified": [{"index": 3, "true": 1, "pred": 7, "confidence": 0.6}]})
    at = open_page("details", run=run.run_id)
    _explains(at, bad_data)
    assert any("Layer health" in h.value for h in at.header)  # the rest of the page is still there


def test_train_page_with_pca(bad_data):
    at = open_page("train", pca="154")
    _explains(at, bad_data)
    assert not [b for b in at.button if b.label == "Train"]
