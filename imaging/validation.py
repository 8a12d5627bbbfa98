"""Checks every uploaded image before anything is stored.

An image is accepted only if Pillow can decode all of it, it is in a format the lab
uses, and it is within the byte and pixel limits. The reason for a rejection is
written for the person who uploaded the file. What is stored is what was decoded, with
nothing appended (imaging/stored_bytes.py); the facts describe those stored bytes.
"""
import hashlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from imaging.stored_bytes import NotStorable, bytes_to_store

ACCEPTED_FORMATS = {"BMP": ".bmp", "PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif"}
# A PNG named .jpg is still stored (its format comes from its bytes); a .exe is not.
IMAGE_EXTENSIONS = {".bmp", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}


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
    data: bytes = field(default=b"", repr=False, compare=False)  # the bytes to store
    uploaded_format: str = ""  # BMP and TIFF are stored as PNG


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
    except Exception as error:
        # Crafted headers make Pillow raise other types too: a zTXt bomb is a ValueError.
        raise ImageRejected(f"it is damaged or unsafe to open ({error})") from error


def check_format_and_pixels(image):
    if image.format not in ACCEPTED_FORMATS:
        accepted = ", ".join(sorted(ACCEPTED_FORMATS))
        raise ImageRejected(f"it is a {image.format} image; accepted formats are {accepted}")
    width, height = image.size
    if min(width, height) < settings.UPLOAD_MIN_IMAGE_SIDE:
        raise ImageRejected(
            f"it is {width}x{height} pixels, too small to hold a cell: each side must be at "
            f"least {settings.UPLOAD_MIN_IMAGE_SIDE} pixels"
        )
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
    except Exception as error:  # decoders fed crafted data raise other types too
        raise ImageRejected(f"the image is corrupt ({type(error).__name__}: {error})") from error


def check_image_name(name, image_format):
    """A name must say the file is an image: the original name goes with the image when it
    is downloaded, and a PNG named .html or .exe must not reach a browser under that name."""
    extension = PurePosixPath(name).suffix.lower()
    if extension not in IMAGE_EXTENSIONS:
        raise ImageRejected(
            f"it is a {image_format} image but its name ends in {extension or 'no extension'}; "
            f"rename it to end in {ACCEPTED_FORMATS[image_format]} and upload it again"
        )


def inspect_image(data):
    """Return the facts about an image file, or raise ImageRejected saying why it is unusable."""
    check_size(data)
    with open_image(data) as image:
        check_format_and_pixels(image)
        decode_fully(image)
        try:
            stored_format, stored = bytes_to_store(image, data)
        except NotStorable as error:
            raise ImageRejected(str(error)) from None
        return ImageFacts(
            image_format=stored_format,
            extension=ACCEPTED_FORMATS[stored_format],
            width=image.width,
            height=image.height,
            size_bytes=len(stored),
            sha256=hashlib.sha256(stored).hexdigest(),
            data=stored,
            uploaded_format=image.format,
        )


def inspect_upload(name, data):
    """inspect_image, and the file's name must end in an image extension."""
    facts = inspect_image(data)
    check_image_name(name, facts.uploaded_format)
    return facts
