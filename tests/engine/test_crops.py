import numpy as np
from PIL import Image

from diagnostics.engine.crops import cut_cell_crop, cut_cell_crops


def field(width=40, height=30):
    pixels = np.arange(width * height * 3, dtype=np.uint32).reshape(height, width, 3) % 251
    return Image.fromarray(pixels.astype(np.uint8))


def test_a_crop_is_centred_on_the_point():
    image = field()
    crop = cut_cell_crop(image, 20, 15, size=10)
    assert crop.size == (10, 10)
    assert np.array_equal(np.asarray(crop), np.asarray(image)[10:20, 15:25])


def test_a_crop_at_the_edge_repeats_the_edge_pixels():
    image = field()
    crop = np.asarray(cut_cell_crop(image, 0, 0, size=10))
    assert crop.shape == (10, 10, 3)
    assert np.array_equal(crop[0, 0], np.asarray(image)[0, 0])
    assert np.array_equal(crop[5, 5], np.asarray(image)[0, 0])
    assert np.array_equal(crop[9, 9], np.asarray(image)[4, 4])


def test_grayscale_fields_give_rgb_crops():
    crops = cut_cell_crops(field().convert("L"), [(5, 5), (30, 20)], size=8)
    assert [crop.mode for crop in crops] == ["RGB", "RGB"]
    assert [crop.size for crop in crops] == [(8, 8), (8, 8)]


def test_a_crop_inside_the_field_is_the_same_as_one_cut_by_edge_padding():
    from diagnostics.engine.crops import cut_from_pixels

    pixels = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    padded = np.pad(pixels, ((10, 10), (10, 10), (0, 0)), mode="edge")
    for x, y in [(40, 30), (5.4, 5.6), (74.6, 54.5), (0, 0), (79, 59)]:
        assert np.array_equal(cut_from_pixels(pixels, x, y, 10),
                              cut_from_pixels(padded, x + 10, y + 10, 10))
