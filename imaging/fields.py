"""Fields of view: which uploaded images are fields, and storing the cells the worker cuts
from them as cell images of their own.

A field is stored once, as an ImageAsset of kind "field", checked, deduplicated, stored and
access-controlled like any upload; its FieldOfView row is the worker's search for its cells.
Each cell found becomes an ImageAsset of kind "cell" (a PNG crop around the nucleus) that
remembers its field and position, and is classified like an uploaded cell.
"""
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile

from imaging.models import ImageAsset
from imaging.slide_parts import delete_slide_parts

AUTO, CELLS, FIELDS, SLIDES = "auto", "cell", "field", "slide"
CONTENT_CHOICES = [
    (AUTO, "Decide by size: a field of view if its long side is at least {} px, else a cell crop"),
    (CELLS, "Cell crops: each image is one cell, classified as it is"),
    (FIELDS, "Fields of view: the worker finds the cells in each image and classifies each"),
    (SLIDES, "Whole slides (.svs, .ndpi, pyramidal .tif): the worker scans each tile by tile"),
]
# Encoding a crop's PNG releases the GIL: two threads store crops faster than one.
CROP_STORE_THREADS = 2
# A field yields hundreds of crops, so their encoding counts: OpenCV's PNG at zlib level 1
# with Huffman coding only (no string matching, which finds little in a photograph) takes
# 1.1 ms for a 128 px crop against 1.55 ms with the default strategy and Pillow's 4.6 ms at
# its default level, for about as many bytes (29.5 KB against 30.4 and 30.9 KB; 300 CRIC
# crops cut from a CRIC field, scratch timing on the 2-core machine). Their gallery thumbnails are made on first
# view (imaging.thumbnails.ensure_thumbnail), not here: most crops of a field are never
# shown, and a thumbnail and its file cost the worker about 1 ms more a crop.
CROP_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1,
                   cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]


def content_choices():
    """The upload form's choices, the size threshold from the settings."""
    return [(value, label.format(settings.FIELD_MIN_LONG_SIDE_PX))
            for value, label in CONTENT_CHOICES]


def kind_of_image(width, height, content):
    """ImageAsset.Kind of an uploaded image (not a slide, imaging.slides): what the uploader
    said, or by its size."""
    if content in (AUTO, SLIDES):  # an image among slides: by its size
        is_field = max(width, height) >= settings.FIELD_MIN_LONG_SIDE_PX
        return ImageAsset.Kind.FIELD if is_field else ImageAsset.Kind.CELL
    return ImageAsset.Kind.FIELD if content == FIELDS else ImageAsset.Kind.CELL


def crop_name(field_image, x, y):
    """``field.jpg@x640y480.png``: the field's name and where the cell was cut."""
    return f"{field_image.original_name}@x{round(x)}y{round(y)}.png"[-255:]


def png_bytes(crop):
    """The crop (a PIL RGB image) as lossless PNG bytes."""
    encoded, png = cv2.imencode(".png", np.asarray(crop)[:, :, ::-1], CROP_PNG_PARAMS)
    if not encoded:
        raise ValueError("OpenCV could not encode the crop as PNG")
    return png.tobytes()


def crop_image(field, source, crop, position):
    """The crop's ImageAsset, not saved, and its PNG bytes. ``source`` is the field's image
    (read before, in the caller's thread: a thread of its own would open another database
    connection). The image keeps the crop itself in ``crop`` (not a field: the worker
    classifies it from memory instead of decoding the PNG again).

    ``position`` is (x, y, score, radius), as Detections.rows gives, in the field's pixels.
    """
    x, y, score, radius = position
    data = png_bytes(crop)
    image = ImageAsset(
        specimen_id=source.specimen_id, kind=ImageAsset.Kind.CELL, source_field=field,
        original_name=crop_name(source, x, y), sha256=hashlib.sha256(data).hexdigest(),
        image_format="PNG", width=crop.width, height=crop.height, size_bytes=len(data),
        uploaded_by_id=source.uploaded_by_id, upload_batch_id=source.upload_batch_id,
        field_x=x, field_y=y, nucleus_radius=radius, detection_score=score,
    )
    image.crop = crop
    return image, data


def write_crop_file(image, data):
    image.file.save(f"{image.sha256}.png", ContentFile(data), save=False)
    return image


def store_crops(field, crops, positions):
    """Store the crops' bytes; return their unsaved ImageAssets, one per distinct crop.

    A crop identical to one the specimen already holds (or to another of these: the same
    patch of glass) is left out, as an upload's duplicate would be. On any error the bytes
    stored so far are removed before it is raised.
    """
    with ThreadPoolExecutor(max_workers=CROP_STORE_THREADS) as pool:
        source = field.image
        encoded = list(pool.map(crop_image, [field] * len(crops), [source] * len(crops), crops,
                                positions))
        new = distinct_and_new(field.image.specimen_id, encoded)
        futures = [pool.submit(write_crop_file, image, data) for image, data in new]
        stored, failure = [], None
        for future in futures:
            try:
                stored.append(future.result())
            except Exception as error:  # noqa: BLE001 (every write is waited for first)
                failure = failure or error
    if failure is not None:
        delete_stored_bytes(stored)
        raise failure
    return stored


def distinct_and_new(specimen_id, encoded):
    """The (image, bytes) pairs whose content is neither in the specimen nor earlier here."""
    hashes = [image.sha256 for image, _ in encoded]
    known = set(ImageAsset.objects.filter(specimen_id=specimen_id, sha256__in=hashes)
                .values_list("sha256", flat=True))
    new = []
    for image, data in encoded:
        if image.sha256 not in known:
            known.add(image.sha256)
            new.append((image, data))
    return new


def delete_stored_bytes(images):
    """Remove the stored file and thumbnail of images whose rows are not kept."""
    for image in images:
        delete_slide_parts(image.file)  # a slide of several files: its every part
        for stored in (image.file, image.thumbnail):
            if stored:
                stored.storage.delete(stored.name)


def save_bytes_of_new_images(specimen, uploads, save_one):
    """``save_one(upload, known_hashes)`` for each upload: the unsaved images whose bytes it
    stored (None for a file it refused or found already in the specimen). An unforeseen error
    leaves no bytes of this upload behind."""
    known_hashes = set(specimen.images.values_list("sha256", flat=True))
    images = []
    try:
        for upload in uploads:
            image = save_one(upload, known_hashes)
            if image is not None:
                images.append(image)
                known_hashes.add(image.sha256)
    except BaseException:
        delete_stored_bytes(images)
        raise
    return images


def save_crop_rows(images):
    """Save the crops' rows in one statement, with an audit entry each (bulk_create sends no
    signal for django-auditlog to see), in the caller's transaction; return them."""
    ImageAsset.objects.bulk_create(images)
    LogEntry.objects.bulk_create(creation_audit_entries(images))
    return images


def creation_audit_entries(instances, **additional_data):
    """A creation entry per saved instance, as django-auditlog writes one ("None" to each
    field's value, dictionaries as JSON; foreign keys by id, not loading the object as
    auditlog's diff does, which cost a query per key and row): no actor, the worker wrote
    it. ``additional_data`` is recorded beside ``by``."""
    if not instances:
        return []
    model = type(instances[0])
    content_type = ContentType.objects.get_for_model(model)
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    return [LogEntry(content_type=content_type, object_pk=str(instance.pk),
                     object_id=instance.pk, object_repr=str(instance)[:255],
                     action=LogEntry.Action.CREATE, changes=creation_changes(instance, fields),
                     additional_data={"by": "worker", **additional_data})
            for instance in instances]


def creation_changes(instance, fields):
    values = ((field.name, field.value_from_object(instance)) for field in fields)
    return {name: ["None", audit_text(value)] for name, value in values
            if value not in (None, "", {}, [])}


def audit_text(value):
    """A value as django-auditlog writes it in an entry's changes (JSON for a dict)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
