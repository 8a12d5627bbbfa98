import io

import pytest
from PIL import Image

from imaging.validation import ImageRejected, inspect_image


def encoded(image_format, size=(40, 32), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size, "purple").save(buffer, image_format)
    return buffer.getvalue()


@pytest.mark.parametrize("image_format, stored_as, extension", [
    ("BMP", "PNG", ".png"), ("PNG", "PNG", ".png"), ("JPEG", "JPEG", ".jpg"),
    ("TIFF", "PNG", ".png"),
])
def test_accepts_the_lab_formats(image_format, stored_as, extension):
    # BMP and TIFF are stored as the lossless PNG of their pixels (imaging/stored_bytes.py).
    facts = inspect_image(encoded(image_format))
    assert (facts.image_format, facts.extension, facts.width, facts.height) == (
        stored_as, extension, 40, 32)
    assert facts.uploaded_format == image_format
    assert len(facts.sha256) == 64


@pytest.mark.parametrize("data, reason", [
    (b"", "the file is empty"),
    (b"hello, not an image", "not an image Pillow can read"),
    (encoded("GIF", mode="P"), "it is a GIF image; accepted formats are BMP, JPEG, PNG, TIFF"),
    (encoded("PNG")[:60], "truncated or corrupt"),
])
def test_rejects_with_a_reason(data, reason):
    with pytest.raises(ImageRejected, match=reason):
        inspect_image(data)


def test_rejects_images_above_the_pixel_limit(settings):
    settings.UPLOAD_MAX_IMAGE_PIXELS = 100
    with pytest.raises(ImageRejected, match="40x32 pixels, above the limit of 100 pixels"):
        inspect_image(encoded("PNG"))


def test_rejects_files_above_the_byte_limit(settings):
    settings.UPLOAD_MAX_FILE_BYTES = 10
    with pytest.raises(ImageRejected, match="above the per-file limit of 0.0 MB"):
        inspect_image(encoded("PNG"))


def test_rejects_a_decompression_bomb():
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, "PNG")  # 100 megapixels in a few kB
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(ImageRejected, match="too many pixels to be decoded safely"):
        inspect_image(buffer.getvalue())
