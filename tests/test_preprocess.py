import numpy as np
from scipy import ndimage

from mnist_core.preprocess import to_mnist


def test_a_photo_like_digit_becomes_mnist_like(mnist):
    digit = mnist.x_test[0].reshape(28, 28)  # a 7
    big = np.kron(digit, np.ones((8, 6)))  # stretched to 224x168
    page = np.ones((400, 300, 3)) * 255  # dark ink on white paper, off centre, in RGB
    page[30:254, 100:268] -= big[..., None] * 200
    out = to_mnist(page).reshape(28, 28)
    cy, cx = ndimage.center_of_mass(out)
    assert abs(cy - 14) < 0.6 and abs(cx - 14) < 0.6
    rows, cols = np.nonzero(out > 0.1)
    assert rows.max() - rows.min() <= 21 and cols.max() - cols.min() <= 21  # fits the 20x20 box
    assert out.max() > 0.9 and out[0].max() == 0  # light on black, empty border
    assert np.corrcoef(out.ravel(), digit.ravel())[0, 1] > 0.6  # still the same 7


def test_blank_and_transparent_images():
    assert not to_mnist(np.zeros((50, 50))).any()
    rgba = np.zeros((100, 100, 4), np.uint8)  # transparent background...
    rgba[30:70, 45:55] = [0, 0, 0, 255]  # ...with an opaque black stroke
    out = to_mnist(rgba).reshape(28, 28)
    assert out.max() > 0.9 and out[:, :8].max() == 0
