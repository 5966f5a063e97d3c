"""Snapshots: what a run keeps about its insides, how big it is, and that a bad file is only "no snapshot"."""

import io
import zipfile

import numpy as np
import pytest

from mnist_core import snapshots
from mnist_core.config import RunConfig
from mnist_core.store import RunStore


@pytest.fixture(scope="module")
def run(small_mnist, tmp_path_factory):
    """A real 3-epoch run on 2,100 MNIST images: snapshots at epochs 1, 2 and 3."""
    from mnist_core.runner import execute

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
        store = RunStore(tmp_path_factory.mktemp("runs"), reference_dir=False)
        return execute(RunConfig(train_examples=2100, epochs=3, learning_rate=0.1), store)


def test_schedule_is_log_spaced_and_ends_at_the_last_epoch():
    assert snapshots.schedule(60) == [1, 2, 3, 5, 8, 13, 20, 30, 45, 60]
    assert snapshots.schedule(4) == [1, 2, 3, 4]
    assert snapshots.schedule(100) == [1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 90, 100]
    assert snapshots.schedule(1) == [1]


def test_a_run_keeps_what_the_network_looked_like(run, small_mnist):
    from mnist_core.model import load_model

    assert snapshots.epochs_stored(run.path) == [1, 2, 3]
    snaps, problems = snapshots.load_all(run.path)
    assert problems == [] and list(snaps) == [1, 2, 3]
    last = snaps[3]
    # First-layer weights as pictures, equal (up to 8-bit rounding) to the saved model's weights.
    kernel = load_model(run.model_path).get_layer("mlp_300_100").get_layer("dense_1").kernel.numpy()
    pictures = snapshots.dequantise_signed(last["first_weights"], last["first_scale"]).reshape(300, 784)
    step = last["first_scale"][:, None] / 127
    assert np.all(np.abs(pictures - kernel.T) <= step / 2 + 1e-6)
    # The sample: the same 2,000 test images every epoch, their labels, and what the network said.
    ids = snaps[1]["sample_ids"]
    assert len(ids) == 2000 and np.array_equal(ids, last["sample_ids"])
    assert np.array_equal(last["sample_labels"], small_mnist.y_test[ids])
    assert last["hidden"].shape == (2000, 100)
    # The confusion matrix covers the whole test set and agrees with the stored test accuracy.
    cm = last["confusion"]
    assert cm.sum() == len(small_mnist.y_test)
    assert np.trace(cm) / cm.sum() == pytest.approx(run.history[-1]["test_accuracy"], abs=1e-6)
    assert len(last["wrong_ids"]) == cm.sum() - np.trace(cm)
    assert np.all(small_mnist.y_test[last["wrong_ids"]] != last["wrong_proba"].argmax(axis=1))
    confidence = last["wrong_proba"].max(axis=1)
    assert np.all(np.diff(confidence.astype(np.float32)) <= 1e-3)  # most confident mistakes first
    # It learns between snapshots: fewer mistakes at epoch 3 than at epoch 1.
    assert len(last["wrong_ids"]) < len(snaps[1]["wrong_ids"])
    # Histograms: fixed bins per layer (the same edges every epoch), every value counted.
    for kind in snapshots.KINDS:
        assert np.array_equal(snaps[1][f"edges_{kind}"], last[f"edges_{kind}"])
    assert last["hist_weights"].sum(axis=1).tolist() == [784 * 300, 300 * 100, 100 * 10]
    assert last["hist_activations"].sum(axis=1).tolist() == [2000 * 300, 2000 * 100, 2000 * 10]
    assert not np.array_equal(snaps[1]["hist_weights"], last["hist_weights"])  # weights moved


def test_a_60_epoch_300_100_run_stays_under_5_mb(mnist, tmp_path):
    """Ten snapshots (the schedule for 60 epochs) of a network after one epoch on 7,000 images (it has
    more mistakes to store than one trained for longer), on the full 10,000-image test set."""
    from mnist_core.train import train

    sizes = []

    def on_event(e):
        if e["event"] == "snapshot":
            sizes.append(snapshots.save(tmp_path, e["arrays"]).stat().st_size)

    train(RunConfig(epochs=1, train_examples=7000), on_event, dataset=mnist)
    assert len(sizes) == 1
    assert len(snapshots.schedule(60)) * sizes[0] <= 5 * 2**20


def test_pca_weights_are_the_pixel_weights_of_an_equivalent_raw_network(small_mnist):
    """A PCA run's first layer, projected back through the components, is exactly the first layer of a
    raw-pixel network that computes the same thing; the snapshot stores that picture."""
    from mnist_core import data
    from mnist_core.model import build_model
    from mnist_core.train import train

    config = RunConfig(train_examples=2100, epochs=1, learning_rate=0.1, pca=40)
    snaps = []
    result = train(config, lambda e: e["event"] == "snapshot" and snaps.append(e["arrays"]), dataset=small_mnist)
    pca = data.pca(small_mnist, 40).pca
    w1, b1 = result.model.get_layer("dense_1").get_weights()
    raw = build_model(config.replace(pca=0), 784)
    back = pca.components_.T @ w1
    raw.get_layer("dense_1").set_weights([back, b1 - pca.mean_ @ back])
    for name in ("dense_2", "logits"):
        raw.get_layer(name).set_weights(result.model.get_layer(name).get_weights())
    x = small_mnist.x_test[:500]
    np.testing.assert_allclose(raw(x).numpy(), result.model(pca.transform(x).astype(np.float32)).numpy(),
                               rtol=1e-3, atol=1e-3)
    stored = snapshots.dequantise_signed(snaps[0]["first_weights"], snaps[0]["first_scale"]).reshape(-1, 784)
    assert np.all(np.abs(stored - back.T) <= snaps[0]["first_scale"][:, None] / 254 + 1e-5)


def test_projection_is_aligned_to_the_previous_epoch():
    """The same points with every activation negated have the same principal axes; PCA alone would hand
    back the picture mirrored, the alignment hands back the same picture."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal((500, 20)) * np.linspace(3, 0.1, 20)
    first = snapshots.project_2d(h, None)
    assert np.allclose(snapshots.project_2d(-h, first), first, atol=1e-4)
    rotated = h.copy()
    rotated[:, :2] = h[:, :2] @ np.array([[0.6, -0.8], [0.8, 0.6]])
    assert np.abs(snapshots.project_2d(rotated, first) - first).mean() < 0.05 * np.abs(first).mean()


def test_real_projections_do_not_flip_between_epochs(run):
    snaps, _ = snapshots.load_all(run.path)
    for a, b in zip(snaps.values(), list(snaps.values())[1:]):
        p, q = a["projection"].astype(np.float32), b["projection"].astype(np.float32)
        kept = np.linalg.norm(q - p)
        for flip in ([-1, 1], [1, -1], [-1, -1]):
            assert kept < np.linalg.norm(q * flip - p)


def _hostile_variants(good: dict) -> dict[str, bytes]:
    def npz(arrays, **extra) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, **{**arrays, **extra})
        return buf.getvalue()

    wrong_dtype = {**good, "first_weights": good["first_weights"].astype(np.float64)}
    wrong_shape = {**good, "sample_labels": good["sample_labels"][:10]}
    missing = {k: v for k, v in good.items() if k != "confusion"}
    bad_label = {**good, "sample_labels": np.full_like(good["sample_labels"], 200)}
    nan = {**good, "unit_dead": np.full_like(good["unit_dead"], np.nan)}
    pickled = io.BytesIO()
    np.savez(pickled, **{**good, "confusion": np.array([{"a": 1}], dtype=object)})
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("epoch.npy", b"\0" * (300 * 2**20))
    return {"truncated": npz(good)[:5000], "not a zip": b"hello", "wrong dtype": npz(wrong_dtype),
            "wrong shape": npz(wrong_shape), "missing array": npz(missing), "extra array": npz(good, evil=np.zeros(3)),
            "label above 9": npz(bad_label), "not finite": npz(nan), "pickle": pickled.getvalue(),
            "zip bomb": bomb.getvalue()}


def test_a_bad_snapshot_file_is_no_snapshot_with_a_reason(run, tmp_path):
    good = snapshots.load(run.path, 1)
    for i, (what, content) in enumerate(_hostile_variants(good).items(), start=1):
        folder = tmp_path / str(i)
        snapshots.path_for(folder, 1).parent.mkdir(parents=True)
        snapshots.path_for(folder, 1).write_bytes(content)
        snaps, problems = snapshots.load_all(folder)
        assert snaps == {} and len(problems) == 1, what
        assert problems[0].startswith("The snapshot epoch-0001.npz") and "\n" not in problems[0], what
    # A file that claims another epoch, and a symbolic link, are not taken either.
    folder = tmp_path / "moved"
    snapshots.path_for(folder, 2).parent.mkdir(parents=True)
    snapshots.path_for(folder, 2).write_bytes(snapshots.path_for(run.path, 1).read_bytes())
    snapshots.path_for(folder, 3).symlink_to(snapshots.path_for(run.path, 3))
    snaps, problems = snapshots.load_all(folder)
    assert snaps == {} and problems == ["The snapshot epoch-0002.npz says it is from epoch 1."]
