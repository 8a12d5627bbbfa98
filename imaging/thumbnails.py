"""Small previews of stored images, made once and stored beside them.

A gallery shows cells at 64-128 px; sending each page the full-size files cost megabytes per
visit. A thumbnail fits in THUMBNAIL_PIXELS a side, as WebP at quality 85: a SIPaKMeD cell
(96×85, 37 KB as PNG) becomes about 0.6 KB. It is made at upload (imaging.uploads), or on
the first request for images stored before thumbnails existed (then stored, never remade).
"""
import io

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image

THUMBNAIL_PIXELS = 160
THUMBNAIL_QUALITY = 85
THUMBNAIL_CONTENT_TYPE = "image/webp"


def thumbnail_bytes(data):
    """The WebP thumbnail of an image's bytes: fits in THUMBNAIL_PIXELS, never enlarged."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
        has_alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
        preview = image.convert("RGBA" if has_alpha else "RGB")
    buffer = io.BytesIO()
    preview.save(buffer, format="WEBP", quality=THUMBNAIL_QUALITY)
    return buffer.getvalue()


def save_thumbnail(image, data, save):
    """Store the thumbnail of ``data`` (the image's stored bytes) in ``image.thumbnail``."""
    image.thumbnail.save(f"{image.sha256}.webp", ContentFile(thumbnail_bytes(data)), save=save)


def ensure_thumbnail(image):
    """The image's thumbnail, made from its stored file and stored the first time it is asked
    for (images uploaded before thumbnails existed)."""
    if not image.thumbnail:
        with image.file.open("rb") as stored:
            data = stored.read()
        save_thumbnail(image, data, save=False)
        image.save(update_fields=["thumbnail"])
    return image.thumbnail


def delete_thumbnail_of_deleted_image(sender, instance, **kwargs):
    """A deleted image's thumbnail goes from storage too (a GDPR erasure deletes the rows and
    removes the files it knows of): once the deletion commits, so a rolled-back deletion
    keeps it."""
    if instance.thumbnail:
        storage, name = instance.thumbnail.storage, instance.thumbnail.name
        transaction.on_commit(lambda: storage.delete(name))
