"""Cutting a cell out of a field of view: the one way slides, training and evaluation do it.

A detected (or marked) nucleus centre becomes a square crop of ``size`` pixels centred on it,
in the field's own pixels. Near an edge the crop is completed by repeating the edge pixels, so
every crop has the same size and the cell stays centred (the classifier never sees black bars).
"""

import numpy as np
from PIL import Image

# Squamous cells in CRIC's 1280 x 960 fields are about 60-150 px across; a crop of this size
# holds a whole cell around its nucleus. A setting may change it; the artefact records its own.
DEFAULT_CROP_SIZE = 128


def cut_cell_crop(field, x, y, size=DEFAULT_CROP_SIZE):
    """The ``size`` x ``size`` RGB crop of the PIL image ``field`` centred on pixel (x, y)."""
    pixels = np.asarray(field.convert("RGB") if field.mode != "RGB" else field)
    return Image.fromarray(cut_from_pixels(pixels, x, y, size))


def cut_cell_crops(field, centres, size=DEFAULT_CROP_SIZE):
    """One crop per (x, y) in ``centres``, the field converted to RGB once."""
    pixels = np.asarray(field.convert("RGB") if field.mode != "RGB" else field)
    return [Image.fromarray(cut_from_pixels(pixels, x, y, size)) for x, y in centres]


def cut_from_pixels(pixels, x, y, size):
    """The (size, size, channels) window of ``pixels`` (H, W, C) centred on (x, y), edge-padded."""
    half = size // 2
    left, top = int(round(x)) - half, int(round(y)) - half
    height, width = pixels.shape[:2]
    if 0 <= left and left + size <= width and 0 <= top and top + size <= height:
        # Inside the field, as most crops are: a plain slice, 10x faster than the indexing
        # below (which a field's hundreds of cells made worth avoiding).
        return pixels[top:top + size, left:left + size]
    rows = np.clip(np.arange(top, top + size), 0, height - 1)
    columns = np.clip(np.arange(left, left + size), 0, width - 1)
    return pixels[np.ix_(rows, columns)]
