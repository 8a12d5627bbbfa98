"""Stores a batch of uploaded images: each file checked, hashed and stored on its own, then
the batch queued for classification.

A bad file never stops the batch, and a file is either stored completely (bytes in
storage, a row in the database, a queued result) or not at all: the rows and the queued
results are written in one transaction, and the bytes of any file it leaves out are removed.
"""
from django.core.files.base import ContentFile
from django.db import DatabaseError, IntegrityError, transaction

from diagnostics.review import ReviewRefused, lock_specimen, refuse_if_signed_off
from diagnostics.tasks import queue_for_classification, queue_for_detection
from imaging.archives import expand_uploads
from imaging.fields import AUTO, delete_stored_bytes, kind_of_image, save_bytes_of_new_images
from imaging.models import ImageAsset, UploadBatch
from imaging.slides import save_bytes_of_slides, split_slides
from imaging.thumbnails import save_thumbnail
from imaging.validation import ImageRejected, inspect_upload


def save_image_bytes(specimen, user, original_name, data, facts, kind=ImageAsset.Kind.CELL):
    """The file's bytes and its thumbnail in storage, and its ImageAsset, not yet saved."""
    image = ImageAsset(
        specimen=specimen,
        kind=kind,
        original_name=original_name[:255],
        sha256=facts.sha256,
        image_format=facts.image_format,
        width=facts.width,
        height=facts.height,
        size_bytes=facts.size_bytes,
        uploaded_by=user,
    )
    image.file.save(f"{facts.sha256}{facts.extension}", ContentFile(data), save=False)
    try:
        save_thumbnail(image, data, save=False)
    except BaseException:
        delete_stored_bytes([image])
        raise
    return image


def not_stored(name, error):
    return {"file": name, "reason": f"it could not be stored ({error})"}


def save_bytes_of_checked_files(specimen, user, uploads, batch):
    """Check every file and store the bytes of the good ones; return their unsaved images.

    The files rejected, and those already in the specimen, are noted in ``batch``.
    """
    return save_bytes_of_new_images(
        specimen, expand_uploads(uploads), lambda upload, known_hashes:
        save_bytes_if_good_and_new(specimen, user, upload, known_hashes, batch))


def save_bytes_if_good_and_new(specimen, user, upload, known_hashes, batch):
    """Check one file and store its bytes; return its unsaved image, or None where
    ``batch`` notes why it is not stored."""
    if upload.problem:
        batch.rejections.append({"file": upload.name, "reason": upload.problem})
        return None
    try:
        facts = inspect_upload(upload.name, upload.data)
    except ImageRejected as rejection:
        batch.rejections.append({"file": upload.name, "reason": str(rejection)})
        return None
    if facts.sha256 in known_hashes:
        batch.duplicates.append(upload.name)
        return None
    try:
        kind = kind_of_image(facts.width, facts.height, batch.content)
        image = save_image_bytes(specimen, user, upload.name, facts.data, facts, kind)
    except OSError as error:
        batch.rejections.append(not_stored(upload.name, error))
        return None
    # A video's frames are tracked together when they are fields (diagnostics.field_cells).
    image.video_frame = (upload.video_name, upload.frame_seconds) if upload.video_name else None
    return image


def save_image_rows(images, batch):
    """Save each image's row in a savepoint of its own; return the images saved.

    A row that fails leaves the others be: its bytes are removed and ``batch`` says why.
    """
    saved = []
    for image in images:
        try:
            with transaction.atomic():
                image.save()
        except IntegrityError:  # the same image arrived in a concurrent upload
            batch.duplicates.append(image.original_name)
        except DatabaseError as error:
            batch.rejections.append(not_stored(image.original_name, error))
        else:
            saved.append(image)
            continue
        delete_stored_bytes([image])
    return saved


def save_batch(batch, images):
    """Write the images' rows, their queued results and the batch, in the caller's transaction."""
    lock_specimen(batch.specimen)
    refuse_if_signed_off(batch.specimen)  # signed while the files were checked: none is stored
    stored = save_image_rows(images, batch)
    # The workers are sent them once the transaction commits: cells to be classified, fields
    # to have their cells found (then classified).
    queue_for_classification([image for image in stored if image.kind == ImageAsset.Kind.CELL])
    queue_for_detection([image for image in stored
                         if image.kind in (ImageAsset.Kind.FIELD, ImageAsset.Kind.SLIDE)])
    batch.stored_count = len(stored)
    batch.save()
    ImageAsset.objects.filter(pk__in=[image.pk for image in stored]).update(upload_batch=batch)


class ConsentMissing(ReviewRefused):
    """The patient has not consented, and the specimen's lab requires consent for screening."""


def refuse_without_consent(specimen):
    patient = specimen.patient
    if patient.consent_given:
        return
    case = getattr(specimen, "case", None)  # a specimen from before cases: consent required
    if case is not None and not case.lab.consent_required_for_screening:
        return
    raise ConsentMissing(
        f"No images were stored: {patient} has not consented to the analysis of their "
        f"specimens. Record the patient's consent (a correction of the patient, with a "
        f"reason), then upload again.")


def store_upload(specimen, user, uploads, content=AUTO):
    """Check and store every file of an upload; return the UploadBatch report.

    ``content`` says what the images are (imaging.fields): cell crops, fields of view, whole
    slides, or "auto", each decided by its size; .svs, .ndpi and pyramidal .tif files, .zip
    archives of a .mrxs or DICOM slide, and an upload's .dcm files are whole slides
    (imaging.slides).

    A signed-off specimen takes nothing until it is re-opened: diagnostics.review.SpecimenClosed;
    a patient without consent nothing at all, where their lab requires it: ConsentMissing.
    """
    refuse_without_consent(specimen)
    refuse_if_signed_off(specimen)
    batch = UploadBatch(specimen=specimen, uploaded_by=user, content=content)
    slides, others = split_slides(uploads, content)
    images = save_bytes_of_slides(specimen, user, slides, batch)
    try:
        images += save_bytes_of_checked_files(specimen, user, others, batch)
    except BaseException:
        delete_stored_bytes(images)
        raise
    checked_duplicates, checked_rejections = list(batch.duplicates), list(batch.rejections)
    try:
        with transaction.atomic():
            save_batch(batch, images)
    except BaseException as error:
        delete_stored_bytes(images)  # the transaction was rolled back: none of them is stored
        if not isinstance(error, DatabaseError):
            raise
        batch = UploadBatch.objects.create(
            specimen=specimen, uploaded_by=user, content=content, duplicates=checked_duplicates,
            rejections=checked_rejections + [not_stored(image.original_name, error)
                                             for image in images])
    return batch
