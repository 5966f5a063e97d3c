"""One digit traced through a saved network: every layer's activations, a saliency map, and how the
prediction moves when the digit is shifted, rotated, thickened or made noisy.

- **Activations**: the output of each hidden layer (after its activation function, batch norm in its
  evaluation mode) and the 10 logits, for one 28x28 image.
- **Saliency** (Simonyan et al., 2013): the gradient of the predicted class's logit with respect to the
  784 input pixels, computed by TensorFlow's GradientTape on the loaded model. Red pixels are where
  more ink would raise the digit's score, blue where it would lower it: what the network "looks at"
  for this drawing, to first order.
- **Robustness**: ``perturb`` moves, turns, thickens or adds noise to the 28x28 image (numpy and SciPy
  only, so the app can call it), and ``sweeps`` lists the images of each knob's range, predicted in one
  batch. An MLP sees 784 unrelated numbers, not a shape: a digit moved by a few pixels lands on weights
  that never saw ink, which is why its prediction can change (a convolutional network shares weights
  across positions and moves less).

The numpy half is imported by the app; the TensorFlow half (``trace``) runs in the tool worker.
Pixels from a request are hostile: ``check_pixels`` bounds their number and range before any use.
"""

from __future__ import annotations

import numpy as np

# The robustness knobs: (label, unit, lowest, highest, step, neutral). Each slider and each sweep uses these.
KNOBS = {
    "shift_x": ("Shift right", "px", -6, 6, 1, 0),
    "shift_y": ("Shift down", "px", -6, 6, 1, 0),
    "rotate": ("Rotate anticlockwise", "°", -60, 60, 10, 0),
    "thickness": ("Thicker strokes", "px", -2, 3, 1, 0),
    "noise": ("Noise", "σ", 0.0, 0.6, 0.05, 0.0),
}
NEUTRAL = {name: knob[5] for name, knob in KNOBS.items()}
MAX_IMAGES = 1 + 80  # one traced image and the sweeps' images: what a trace request may carry
NOISE_SEED = 11  # the same noise pattern at every redraw, so moving another slider does not reshuffle it


class TraceError(ValueError):
    """A trace request that is refused; the message is one sentence."""


def check_pixels(values, max_images: int = MAX_IMAGES) -> np.ndarray:
    """Images from a request as (N, 784) float32 in [0, 1]; anything else raises TraceError."""
    try:
        a = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        raise TraceError("The pixels are not numbers: send 784 numbers between 0 and 1 per image.") from None
    if a.size == 0 or a.size % 784 or a.size > 784 * max_images:
        raise TraceError(f"Expected 784 pixels per image and at most {max_images} images, got {a.size} numbers.")
    if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
        raise TraceError("Pixels must be finite numbers between 0 and 1.")
    return a.reshape(-1, 784)


def settings(values: dict | None = None) -> dict:
    """The knobs' values, each clipped into its range; unknown names are ignored."""
    out = dict(NEUTRAL)
    for name, value in (values or {}).items():
        if name in KNOBS:
            lo, hi = KNOBS[name][2], KNOBS[name][3]
            out[name] = type(KNOBS[name][5])(min(hi, max(lo, float(value))))
    return out


def perturb(pixels: np.ndarray, shift_x: float = 0, shift_y: float = 0, rotate: float = 0,
            thickness: int = 0, noise: float = 0.0) -> np.ndarray:
    """The 28x28 image (784 values in [0, 1]) with thicker or thinner strokes, turned by ``rotate`` degrees
    (anticlockwise) around the centre, moved ``shift_x`` pixels right and ``shift_y`` down, then with
    Gaussian noise of that standard deviation (a fixed pattern). Returns 784 float32 in [0, 1]."""
    from scipy import ndimage

    img = np.asarray(pixels, np.float32).reshape(28, 28)
    cross = ndimage.generate_binary_structure(2, 1)  # grow or shrink by one pixel up, down, left, right
    for _ in range(abs(int(thickness))):
        img = (ndimage.grey_dilation if thickness > 0 else ndimage.grey_erosion)(img, footprint=cross)
    if rotate:
        img = ndimage.rotate(img, rotate, reshape=False, order=1, mode="constant")
    if shift_x or shift_y:
        img = ndimage.shift(img, (shift_y, shift_x), order=1, mode="constant")
    if noise:
        img = img + np.random.default_rng(NOISE_SEED).normal(0, noise, img.shape).astype(np.float32)
    return np.clip(img, 0, 1).reshape(784).astype(np.float32)


def knob_values(name: str) -> list:
    lo, hi, step = KNOBS[name][2:5]
    n = int(round((hi - lo) / step)) + 1
    return [round(lo + i * step, 4) if isinstance(step, float) else lo + i * step for i in range(n)]


def sweeps(pixels: np.ndarray, current: dict) -> tuple[np.ndarray, list[tuple[str, object]]]:
    """For each knob, the image at every value of its range with the other knobs as they are now:
    (N, 784) images and, for each, (knob, value)."""
    current = settings(current)
    images, where = [], []
    for name in KNOBS:
        for value in knob_values(name):
            images.append(perturb(pixels, **{**current, name: value}))
            where.append((name, value))
    return np.stack(images), where


# --- TensorFlow side (the tool worker) -------------------------------------------------------------------
def _chain(model) -> list:
    """The layers from flat 0-1 pixels to the logits, in order, for any saved model: ``for_export``'s
    wrapper (reshape and scaling, [pca], the MLP, softmax) or an earlier version's bare MLP."""
    from .tf_env import keras

    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    mlp = inner[-1] if inner else model
    pca = [layer for layer in model.layers if layer.name == "pca"] if inner else []
    chain = pca + [layer for layer in mlp.layers if not isinstance(layer, keras.layers.InputLayer)]
    names = [layer.name for layer in chain]
    if "logits" not in names or "dense_1" not in names:
        raise TraceError("This model is not one of this app's networks (no dense_1 or logits layer), so it "
                         "cannot be traced.")
    return chain[:names.index("logits") + 1]


def layer_label(name: str) -> str:
    return "output (logits)" if name == "logits" else name.replace("act_", "hidden layer ")


def trace(model, pixels: np.ndarray, top: int = 8) -> dict:
    """Forward one image (784 floats, 0-1) through ``model`` layer by layer, recording each hidden layer's
    activations and the logits, and the gradient of the predicted class's logit w.r.t. the pixels.

    Returns plain lists: ``layers`` [{"name", "values"}], ``logits``, ``probabilities``, ``predicted``,
    ``saliency`` (784), and ``top_units``: the ``top`` most active first-layer units with their weights
    as 28x28 pictures in pixel space (a PCA model's projected back through its components)."""
    from .snapshots import pixel_weights
    from .tf_env import tf

    chain = _chain(model)
    x = tf.constant(np.asarray(pixels, np.float32).reshape(1, 784))
    recorded = []
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = x
        for layer in chain:
            h = layer(h, training=False)
            if layer.name.startswith("act_") or layer.name == "logits":
                recorded.append((layer.name, h))
        logits = h[0]
        predicted = int(tf.argmax(logits))
        score = logits[predicted]
    saliency = tape.gradient(score, x).numpy().reshape(784)
    logits = logits.numpy().astype(np.float64)
    proba = np.exp(logits - logits.max())
    proba /= proba.sum()

    first = recorded[0][1].numpy()[0]
    order = np.argsort(-first, kind="stable")[:top]
    dense_1 = next(layer for layer in chain if layer.name == "dense_1")
    pca = next((layer for layer in chain if layer.name == "pca"), None)
    components = None if pca is None else pca.kernel.numpy().T
    weights = pixel_weights(dense_1.kernel.numpy(), components)[order]
    return {"layers": [{"name": layer_label(name), "values": t.numpy()[0].astype(float).tolist()}
                       for name, t in recorded],
            "logits": logits.tolist(), "probabilities": proba.tolist(), "predicted": predicted,
            "saliency": saliency.astype(float).tolist(),
            "top_units": {"ids": order.tolist(), "activations": first[order].astype(float).tolist(),
                          "weights": weights.astype(float).round(5).tolist()}}
