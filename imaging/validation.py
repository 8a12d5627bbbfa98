"""Checks every uploaded image before anything is stored.

An image is accepted only if Pillow can decode all of it, it is in a format the lab
uses, and it is within the byte and pixel limits. The reason for a rejection is
written for the person who uploaded the file.
"""
import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS = {"BMP": ".bmp", "PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif"}


class ImageRejected(Exception):
    """The file is not an image CelInsight will store; the message says why."""


@dataclass(frozen=True)
class ImageFacts:
    image_format: str
    extension: str
    width: int
    height: int
    size_bytes: int
    sha256: str


def megabytes(size_bytes):
    return f"{size_bytes / (1024 * 1024):.1f} MB"


def too_large_reason(size_bytes=None):
    size = f"the file is {megabytes(size_bytes)}, " if size_bytes is not None else "it is "
    return f"{size}above the per-file limit of {megabytes(settings.UPLOAD_MAX_FILE_BYTES)}"


def check_size(data):
    if not data:
        raise ImageRejected("the file is empty")
    if len(data) > settings.UPLOAD_MAX_FILE_BYTES:
        raise ImageRejected(too_large_reason(len(data)))


def open_image(data):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except UnidentifiedImageError as error:
        raise ImageRejected("it is not an image Pillow can read") from error
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise ImageRejected("it has too many pixels to be decoded safely") from error


def check_format_and_pixels(image):
    if image.format not in ACCEPTED_FORMATS:
        accepted = ", ".join(sorted(ACCEPTED_FORMATS))
        raise ImageRejected(f"it is a {image.format} image; accepted formats are {accepted}")
    width, height = image.size
    if width * height > settings.UPLOAD_MAX_IMAGE_PIXELS:
        raise ImageRejected(
            f"it is {width}x{height} pixels, above the limit of "
            f"{settings.UPLOAD_MAX_IMAGE_PIXELS:,} pixels"
        )


def decode_fully(image):
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageRejected(f"the image is truncated or corrupt ({error})") from error


def inspect_image(data):
    """Return the facts about an image file, or raise ImageRejected saying why it is unusable."""
    check_size(data)
    with open_image(data) as image:
        check_format_and_pixels(image)
        decode_fully(image)
        return ImageFacts(
            image_format=image.format,
            extension=ACCEPTED_FORMATS[image.format],
            width=image.width,
            height=image.height,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
