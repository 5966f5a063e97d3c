"""Tracing one digit: perturbations do what their labels say, request pixels are checked, activations have
each layer's shape, the saliency is the true gradient (finite differences), and on a network that
learned MNIST a shifted digit loses probability (the MLP is not translation-invariant)."""

import numpy as np
import pytest
from scipy import ndimage

from mnist_core import trace
from mnist_core.config import RunConfig


def bar(horizontal: bool = True) -> np.ndarray:
    img = np.zeros((28, 28), np.float32)
    if horizontal:
        img[13:15, 6:22] = 1
    else:
        img[6:22, 13:15] = 1
    return img.reshape(784)


def centre(pixels):
    return np.array(ndimage.center_of_mass(pixels.reshape(28, 28)))


# --- the numpy half -----------------------------------------------------------------------------------
def test_neutral_settings_leave_the_digit_as_it_is(mnist):
    x = mnist.x_test[0]
    assert np.array_equal(trace.perturb(x, **trace.NEUTRAL), x.astype(np.float32))


def test_shift_moves_the_ink_right_and_down():
    x = bar()
    moved = trace.perturb(x, shift_x=4, shift_y=-3)
    assert centre(moved) - centre(x) == pytest.approx([-3, 4], abs=1e-4)  # (row, column)
    assert moved.sum() == pytest.approx(x.sum())


def test_rotate_turns_anticlockwise_around_the_centre():
    turned = trace.perturb(bar(horizontal=True), rotate=90).reshape(28, 28)
    assert turned[6:22, 12:16].sum() > 0.9 * turned.sum()  # now a vertical bar in the middle
    assert centre(turned.reshape(784)) == pytest.approx([13.5, 13.5], abs=0.3)
    # anticlockwise: a dot to the right of the centre goes up
    dot = np.zeros((28, 28), np.float32)
    dot[13:15, 20:22] = 1
    row, col = centre(trace.perturb(dot.reshape(784), rotate=90))
    assert row < 10 and 12 < col < 16


def test_thickness_grows_and_shrinks_strokes_and_noise_is_a_fixed_pattern(mnist):
    x = mnist.x_test[3]
    ink = [trace.perturb(x, thickness=t).sum() for t in (-1, 0, 1, 2)]
    assert ink == sorted(ink) and ink[0] < 0.8 * ink[1] and ink[2] > 1.3 * ink[1]
    a, b = trace.perturb(x, noise=0.3), trace.perturb(x, noise=0.3)
    assert np.array_equal(a, b) and not np.array_equal(a, x)  # the same noise at every redraw
    assert a.min() >= 0 and a.max() <= 1


def test_sweeps_cover_every_knob_with_the_others_as_set():
    images, where = trace.sweeps(bar(), {"rotate": 30, "nonsense": 5})
    assert len(images) == len(where) <= trace.MAX_IMAGES - 1
    assert {k for k, _ in where} == set(trace.KNOBS)
    assert [v for k, v in where if k == "shift_x"] == list(range(-6, 7))
    assert [v for k, v in where if k == "noise"][:3] == [0.0, 0.05, 0.1]
    # the shift sweep keeps the rotation that is set
    assert np.array_equal(images[where.index(("shift_x", 0))], trace.perturb(bar(), rotate=30))
    assert not np.array_equal(images[where.index(("shift_x", 0))], bar())
    assert trace.settings({"shift_x": 99, "rotate": -90, "noise": -1}) == {
        **trace.NEUTRAL, "shift_x": 6, "rotate": -60, "noise": 0.0}


@pytest.mark.parametrize("values, why", [
    ([0.5] * 783, "784 pixels per image"), ([0.5] * 784 * 2, "at most 1 images"),
    ([float("nan")] + [0] * 783, "finite numbers between 0 and 1"), ([2.0] * 784, "between 0 and 1"),
    ([-0.1] * 784, "between 0 and 1"), ("abc", "not numbers"), ([[0.1, "x"]], "not numbers"), ([], "784 pixels"),
])
def test_request_pixels_are_checked(values, why):
    with pytest.raises(trace.TraceError, match=why):
        trace.check_pixels(values, max_images=1)


# --- the TensorFlow half --------------------------------------------------------------------------------
def _saved(tmp_path, config, pca=None, export=True):
    from mnist_core.model import build_model, for_export, load_model

    model = build_model(config, 784 if pca is None else pca.n_components_)
    rng = np.random.default_rng(1)
    for layer in model.layers:  # non-zero biases and batch-norm statistics, as after training
        layer.set_weights([w + rng.normal(0, 0.1, w.shape).astype(w.dtype) if w.ndim == 1 else w
                           for w in layer.get_weights()])
    path = tmp_path / "model.keras"
    (for_export(model, config, pca) if export else model).save(path)
    return load_model(path), model


def _logit(plain, x, k, pca=None):
    """Logit k of the network as built, computed by Keras itself (not by trace's layer walk)."""
    if pca is not None:
        x = (x - pca.mean_) @ pca.components_.T
    return float(np.asarray(plain(x.reshape(1, -1).astype(np.float32), training=False))[0, k])


@pytest.mark.parametrize("batch_norm", [False, True])
def test_activations_per_layer_and_saliency_is_the_gradient(tmp_path, mnist, batch_norm):
    from mnist_core.evaluate import predict_proba

    config = RunConfig(hidden=(16, 8), activation="tanh", batch_norm=batch_norm, seed=3)
    model, plain = _saved(tmp_path, config)
    x = mnist.x_test[0].astype(np.float64)
    out = trace.trace(model, x)
    assert [(layer["name"], len(layer["values"])) for layer in out["layers"]] == [
        ("hidden layer 1", 16), ("hidden layer 2", 8), ("output (logits)", 10)]
    assert np.all(np.abs(out["layers"][0]["values"]) <= 1)  # tanh's range: these are after the activation
    assert np.allclose(out["probabilities"], predict_proba(model, x[None].astype(np.float32))[0], atol=1e-5)
    k = out["predicted"]
    assert k == int(np.argmax(out["probabilities"]))
    # The gradient of the predicted logit, pixel by pixel, against central differences.
    eps, saliency = 1e-2, np.asarray(out["saliency"])
    for p in np.random.default_rng(0).choice(784, 25, replace=False):
        up, down = x.copy(), x.copy()
        up[p] += eps
        down[p] -= eps
        diff = (_logit(plain, up, k) - _logit(plain, down, k)) / (2 * eps)
        assert saliency[p] == pytest.approx(diff, rel=0.02, abs=2e-4)
    assert np.abs(saliency).max() > 1e-3


def test_a_pca_model_is_traced_from_pixels_and_its_units_are_pictures(tmp_path, mnist):
    from sklearn.decomposition import PCA

    from mnist_core.evaluate import predict_proba
    from mnist_core.snapshots import pixel_weights

    pca = PCA(20, random_state=0).fit(mnist.x_train[:1000])
    config = RunConfig(hidden=(12,), pca=20, seed=1)
    model, plain = _saved(tmp_path, config, pca)
    x = mnist.x_test[1]
    out = trace.trace(model, x, top=5)
    assert [len(layer["values"]) for layer in out["layers"]] == [12, 10]
    assert np.allclose(out["probabilities"], predict_proba(model, x[None])[0], atol=1e-5)
    first = np.asarray(out["layers"][0]["values"])
    ids = out["top_units"]["ids"]
    assert len(ids) == 5 and list(first[ids]) == sorted(first, reverse=True)[:5]
    expected = pixel_weights(plain.get_layer("dense_1").kernel.numpy(), pca.components_)[ids]
    assert np.allclose(out["top_units"]["weights"], expected, atol=1e-4)
    # the saliency goes through the projection: finite differences on raw pixels agree
    k, eps = out["predicted"], 1e-2
    for p in (300, 400, 500):
        up, down = x.astype(np.float64), x.astype(np.float64)
        up[p] += eps
        down[p] -= eps
        diff = (_logit(plain, up, k, pca) - _logit(plain, down, k, pca)) / (2 * eps)
        assert out["saliency"][p] == pytest.approx(diff, rel=0.02, abs=2e-4)


def test_a_model_saved_by_an_earlier_version_is_traced(tmp_path, mnist):
    config = RunConfig(hidden=(10,), seed=2)
    model, _ = _saved(tmp_path, config, export=False)  # a bare MLP that outputs logits
    out = trace.trace(model, mnist.x_test[2])
    assert [len(layer["values"]) for layer in out["layers"]] == [10, 10]
    logits = np.asarray(model(mnist.x_test[2][None], training=False))[0]
    assert np.allclose(out["logits"], logits, atol=1e-5)


def test_a_foreign_model_is_refused_with_a_sentence(tmp_path):
    from mnist_core.tf_env import keras

    foreign = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    with pytest.raises(trace.TraceError, match="not one of this app's networks"):
        trace.trace(foreign, np.zeros(784, np.float32))


@pytest.fixture(scope="module")
def learned(small_mnist, tmp_path_factory):
    """A 300-100 network trained for 3 epochs on 2,100 real MNIST images (about 85% on the test set)."""
    from mnist_core.model import load_model
    from mnist_core.runner import execute
    from mnist_core.store import RunStore

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
        store = RunStore(tmp_path_factory.mktemp("learned"), reference_dir=False)
        run = execute(RunConfig(train_examples=2100, epochs=3, learning_rate=0.1), store)
    return load_model(run.model_path)


def test_a_learned_network_loses_its_digit_when_it_is_moved(learned, small_mnist):
    """What the robustness probe shows a class: the right digit's probability falls as the digit moves."""
    from mnist_core.evaluate import predict_proba

    x, y = small_mnist.x_test[:100], small_mnist.y_test[:100]

    def right(**knobs):
        moved = np.stack([trace.perturb(img, **knobs) for img in x])
        return predict_proba(learned, moved)[np.arange(len(y)), y].mean()

    assert right() > 0.7
    assert trace.trace(learned, x[0])["predicted"] == y[0]
    assert right(shift_x=5) < right() - 0.3
    assert right(rotate=60) < right() - 0.2
    assert right(noise=0.05) > right() - 0.1  # a little noise hardly matters

