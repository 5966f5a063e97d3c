import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from mnist_core.preprocess import PictureError, read_picture, to_mnist
from tests.helpers import png_bytes


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


# --- uploads: checked from the header, refused with one sentence, memory bounded ---------------------
def test_an_oversized_picture_is_refused_from_its_header():
    for size in ((12000, 12000), (20000, 20000), (4001, 3000)):  # 20000^2 trips Pillow's own bomb check
        with pytest.raises(PictureError, match="megapixels are accepted|the most that is accepted") as e:
            read_picture(png_bytes(*size, header_only=True))  # no pixel data at all: nothing was decoded
        assert "\n" not in str(e.value)
    assert "12,000 x 12,000 pixels (144 megapixels)" in _refusal(png_bytes(12000, 12000, header_only=True))


def _refusal(raw: bytes) -> str:
    with pytest.raises(PictureError) as e:
        read_picture(raw)
    return str(e.value)


def test_malformed_and_other_files_are_refused_with_one_sentence():
    good = png_bytes(300, 300)
    gif = io.BytesIO()
    Image.new("L", (30, 30)).save(gif, format="GIF")
    for raw in (b"", b"not a picture", good[:200], good[:-30], gif.getvalue(), b"\x89PNG\r\n\x1a\n" + b"\0" * 40):
        assert "not a PNG or JPEG picture that can be read" in _refusal(raw)


def test_an_accepted_upload_becomes_a_centred_digit():
    out = to_mnist(read_picture(png_bytes(1200, 900))).reshape(28, 28)  # a white bar on black
    assert out.max() > 0.9 and abs(ndimage.center_of_mass(out)[1] - 14) < 1
    photo = io.BytesIO()
    Image.new("RGB", (4000, 3000), "white").save(photo, format="JPEG")
    assert read_picture(photo.getvalue()).shape == (384, 512)  # decoded at a reduced scale, then shrunk


MEASURE = """
import resource, sys
import numpy, scipy.ndimage, PIL.Image, PIL.PngImagePlugin
from mnist_core.preprocess import PictureError, read_picture, to_mnist
raw = open(sys.argv[1], "rb").read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    to_mnist(read_picture(raw))
except PictureError:
    pass
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)
"""


def _extra_mb(tmp_path, raw: bytes) -> int:
    (tmp_path / "picture.png").write_bytes(raw)
    out = subprocess.run([sys.executable, "-c", MEASURE, str(tmp_path / "picture.png")], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    return int(out.stdout)


def test_the_memory_an_upload_costs_is_bounded(tmp_path):
    """The issue's picture: 150 kB of PNG, 12000 x 12000 mostly black pixels, once took 7 GB to read."""
    bomb = png_bytes(12000, 12000)
    assert len(bomb) < 200_000
    assert _extra_mb(tmp_path, bomb) < 10
    assert _extra_mb(tmp_path, png_bytes(4000, 3000, "RGBA")) < 110  # the largest accepted, transparent
