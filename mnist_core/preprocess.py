"""Turn any picture of a digit into an MNIST-like 28x28 image, the way MNIST itself was made.

LeCun et al. took each digit, scaled it (keeping its aspect ratio) to fit a 20x20 box, and placed it in
a 28x28 image so that its centre of mass sat at the centre. The network has only ever seen digits
presented like that, so a drawing must be too: light ink on a dark background, in the same place.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

# A 12-megapixel picture (a phone's 4000 x 3000) is accepted. Decoded, it costs at most 48 MB (RGBA),
# and shrinking a transparent one briefly doubles that (Pillow premultiplies alpha in a copy): under
# 100 MB per picture. JPEG photos cost far less: they are decoded at 1/8 scale straight away.
MAX_PIXELS = 12_000_000
MAX_FILE_BYTES = 10 * 2**20  # the app's own upload limit is lower (.streamlit/config.toml maxUploadSize)
WORKING_SIDE = 512  # pictures are shrunk to this before any array arithmetic: the digit ends up 20x20
FORMATS = ("PNG", "JPEG")


class PictureError(ValueError):
    """An uploaded file that is refused. The message is one sentence saying why and what to do."""


def read_picture(raw: bytes) -> np.ndarray:
    """An uploaded PNG or JPEG as a uint8 array, (H, W) grey or (H, W, 4) with transparency, at most
    WORKING_SIDE pixels on a side. Raises PictureError for anything else.

    A picture's size is in its header, which Pillow's ``open`` reads without decoding anything, so an
    oversized picture is refused before it costs memory: a 150 kB PNG can hold 12000 x 12000 black
    pixels, which decoded as RGBA takes 576 MB and, as floats, gigabytes. Only PNG and JPEG decoders are
    tried, never the other formats Pillow knows. JPEGs are decoded straight at a reduced scale (draft).
    """
    from PIL import Image, UnidentifiedImageError

    if len(raw) > MAX_FILE_BYTES:
        raise PictureError(f"The file is {len(raw) / 2**20:.1f} MB; pictures up to "
                           f"{MAX_FILE_BYTES // 2**20} MB are accepted: upload a smaller PNG or JPEG.")
    unreadable = PictureError("That file is not a PNG or JPEG picture that can be read (it may be damaged "
                              "or cut short): upload a PNG or JPEG of one digit.")
    try:
        with Image.open(io.BytesIO(raw), formats=FORMATS) as im:  # reads the header only
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise PictureError(
                    f"The picture is {width:,} x {height:,} pixels ({width * height / 1e6:,.0f} megapixels); "
                    f"pictures up to {MAX_PIXELS / 1e6:.0f} megapixels are accepted: crop it to the digit "
                    f"or make it smaller.")
            im.draft("RGB" if im.mode in ("RGB", "CMYK", "YCbCr") else im.mode, (WORKING_SIDE, WORKING_SIDE))
            transparent = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            mode = "RGBA" if transparent else "L"
            im.load()
            small = im if im.mode == mode else im.convert(mode)  # no full-size copy when it already is
            small.thumbnail((WORKING_SIDE, WORKING_SIDE))  # in place: Pillow reduces, then resamples
            return np.asarray(small)
    except PictureError:
        raise
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours, as a second line
        raise PictureError(f"The picture has more than {MAX_PIXELS / 1e6:.0f} megapixels, the most that "
                           f"is accepted: crop it to the digit or make it smaller.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error):
        raise unreadable from None


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
