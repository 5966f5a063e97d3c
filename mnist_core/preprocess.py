"""Turn any picture of a digit into an MNIST-like 28x28 image, the way MNIST itself was made.

LeCun et al. took each digit, scaled it (keeping its aspect ratio) to fit a 20x20 box, and placed it in
a 28x28 image so that its centre of mass sat at the centre. The network has only ever seen digits
presented like that, so a drawing must be too: light ink on a dark background, in the same place.
"""

from __future__ import annotations

import numpy as np


def to_mnist(image: np.ndarray) -> np.ndarray:
    """An image (H, W), (H, W, 3) or (H, W, 4), any value range, to 784 floats in [0, 1]."""
    from PIL import Image
    from scipy import ndimage

    img = np.asarray(image, dtype=np.float32)
    if img.ndim == 3:
        if img.shape[2] == 4:  # transparent pixels count as background
            alpha = img[..., 3:] / (255.0 if img.max() > 1 else 1.0)
            img = img[..., :3] * alpha + (1 - alpha) * _background(img[..., :3])
        img = img[..., :3].mean(axis=2)
    if img.max() > 1:
        img = img / 255.0
    if img.mean() > 0.5:  # dark ink on light paper: invert to MNIST's light ink on black
        img = 1.0 - img
    img = np.clip(img - 0.1, 0, None)  # drop faint paper noise
    if img.max() <= 0:
        return np.zeros(784, np.float32)
    img = img / img.max()
    rows, cols = np.nonzero(img > 0.05)
    img = img[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = img.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray((img * 255).astype(np.uint8)).resize(size, Image.LANCZOS),
                       dtype=np.float32) / 255.0
    canvas = np.zeros((28, 28), np.float32)
    top, left = (28 - small.shape[0]) // 2, (28 - small.shape[1]) // 2
    canvas[top:top + small.shape[0], left:left + small.shape[1]] = small
    cy, cx = ndimage.center_of_mass(canvas)
    canvas = ndimage.shift(canvas, (14 - cy, 14 - cx), order=1, mode="constant")
    return np.clip(canvas, 0, 1).reshape(784).astype(np.float32)


def _background(rgb: np.ndarray) -> float:
    return 255.0 if rgb.max() > 1 else 1.0
