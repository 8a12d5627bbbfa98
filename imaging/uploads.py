"""Stores a batch of uploaded images: each file checked, hashed, stored and queued on its own.

A bad file never stops the batch, and a file is either stored completely (bytes in
storage, a row in the database, a queued result) or not at all.
"""
from django.core.files.base import ContentFile
from django.db import DatabaseError, IntegrityError, transaction

from diagnostics.classifier import active_model_version
from diagnostics.services import create_queued_results
from diagnostics.tasks import send_for_classification
from imaging.archives import expand_uploads
from imaging.models import ImageAsset, UploadBatch
from imaging.validation import ImageRejected, inspect_upload


def store_image(specimen, user, original_name, data, facts, model_version):
    """Save the bytes and the ImageAsset row together; remove the bytes if the row fails."""
    image = ImageAsset(
        specimen=specimen,
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
        with transaction.atomic():
            image.save()
            [result] = create_queued_results([image], model_version)
    except BaseException:
        image.file.storage.delete(image.file.name)
        raise
    return image, result.pk


def store_upload(specimen, user, uploads):
    """Check and store every file of an upload; return the UploadBatch report."""
    batch = UploadBatch(specimen=specimen, uploaded_by=user)
    known_hashes = set(specimen.images.values_list("sha256", flat=True))
    stored_images = []
    result_ids = []
    model_version = active_model_version()  # once per batch, not once per image
    for upload in expand_uploads(uploads):
        if upload.problem:
            batch.rejections.append({"file": upload.name, "reason": upload.problem})
            continue
        try:
            facts = inspect_upload(upload.name, upload.data)
        except ImageRejected as rejection:
            batch.rejections.append({"file": upload.name, "reason": str(rejection)})
            continue
        if facts.sha256 in known_hashes:
            batch.duplicates.append(upload.name)
            continue
        try:
            image, result_id = store_image(specimen, user, upload.name, upload.data, facts,
                                           model_version)
            stored_images.append(image)
            result_ids.append(result_id)
        except IntegrityError:  # the same image arrived in a concurrent upload
            batch.duplicates.append(upload.name)
            continue
        except (OSError, DatabaseError) as error:
            batch.rejections.append({"file": upload.name, "reason": f"it could not be stored ({error})"})
            continue
        known_hashes.add(facts.sha256)
    batch.stored_count = len(stored_images)
    batch.save()
    ImageAsset.objects.filter(pk__in=[image.pk for image in stored_images]).update(upload_batch=batch)
    send_for_classification(result_ids)
    return batch
