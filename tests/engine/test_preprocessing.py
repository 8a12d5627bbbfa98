import numpy as np
import torch
from PIL import Image

from diagnostics.engine import Preprocessing, image_to_tensor, images_to_batch, resize_and_pad
from diagnostics.engine.preprocessing import IMAGENET_MEAN, IMAGENET_STD, normalise

RED = (255, 0, 0)


def test_any_image_becomes_a_normalised_square_tensor():
    preprocessing = Preprocessing(image_size=64)
    for image in (Image.new("L", (30, 50), 128), Image.new("RGBA", (90, 20)),
                  Image.new("RGB", (500, 500), RED)):
        tensor = image_to_tensor(image, preprocessing)
        assert tensor.shape == (3, 64, 64)
        assert tensor.dtype == torch.float32


def test_normalisation_uses_the_given_mean_and_std():
    preprocessing = Preprocessing(image_size=8, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    tensor = image_to_tensor(Image.new("RGB", (8, 8), RED), preprocessing)
    assert torch.allclose(tensor[0], torch.full((8, 8), 2.0))
    assert torch.allclose(tensor[1], torch.full((8, 8), -2.0))


def test_wide_image_keeps_its_aspect_ratio_and_is_padded_top_and_bottom():
    square = resize_and_pad(Image.new("RGB", (100, 50), RED), 64, pad_colour=(0, 0, 255))
    pixels = np.asarray(square)
    assert square.size == (64, 64)
    assert (pixels[16:48] == RED).all()
    assert (pixels[:16] == (0, 0, 255)).all() and (pixels[48:] == (0, 0, 255)).all()


def test_padding_is_close_to_zero_after_normalisation():
    tensor = image_to_tensor(Image.new("RGB", (10, 100), RED), Preprocessing(image_size=100))
    assert tensor[:, :, :40].abs().max() < 0.05


def test_batch_matches_images_preprocessed_one_by_one():
    images = [Image.new("RGB", (40, 20), RED), Image.new("L", (15, 60), 30)]
    preprocessing = Preprocessing(image_size=32)
    batch = images_to_batch(images, preprocessing)
    assert batch.shape == (2, 3, 32, 32)
    for row, image in zip(batch, images):
        assert torch.equal(row, image_to_tensor(image, preprocessing))


def test_clahe_raises_the_contrast_of_a_flat_cell_and_keeps_the_padding():
    rng = np.random.default_rng(0)
    flat = Image.fromarray((120 + rng.integers(0, 10, (40, 80, 3))).astype(np.uint8))
    plain = np.asarray(Preprocessing(image_size=64).prepare(flat)).astype(float)
    enhanced_preprocessing = Preprocessing(image_size=64, clahe=True)
    enhanced = np.asarray(enhanced_preprocessing.prepare(flat)).astype(float)
    cell_rows = slice(16, 48)
    assert enhanced[cell_rows].std() > 1.5 * plain[cell_rows].std()
    assert (enhanced[:8] == enhanced_preprocessing.pad_colour).all()


def test_clahe_setting_survives_the_metadata_round_trip():
    preprocessing = Preprocessing(image_size=64, clahe=True)
    assert Preprocessing.from_dict(preprocessing.to_dict()) == preprocessing


def test_normalised_batch_keeps_the_channels_last_layout_and_leaves_the_pixels_alone():
    pixels = torch.randint(0, 256, (2, 8, 8, 3), dtype=torch.uint8)
    before = pixels.clone()
    batch = normalise(pixels, Preprocessing(image_size=8))
    assert batch.shape == (2, 3, 8, 8) and batch.dtype == torch.float32
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(pixels, before)
    red = pixels[..., 0].float()
    torch.testing.assert_close(batch[:, 0], (red - 255 * IMAGENET_MEAN[0]) / (255 * IMAGENET_STD[0]))
