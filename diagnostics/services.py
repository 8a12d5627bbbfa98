"""Classify queued results and draw their heat maps: claim, compute, store, and return what
was done. Sending work to the workers is diagnostics.tasks' job; nothing here imports it."""
import io
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath

import numpy as np
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image

from diagnostics.cell_predictions import (loaded_bethesda_classifier, predict_results,
                                          prepared_pixels)
from diagnostics.classifier import classifier_for
from diagnostics.models import CellResult, heatmap_path
from diagnostics.triage import ABNORMAL_CLASSES, update_triage_scores_of
from imaging.fields import audit_text

logger = logging.getLogger(__name__)
Status = CellResult.Status
IMAGE_READ_THREADS = 2
HEATMAP_WEBP_QUALITY = 80


def create_queued_results(images, model_version):
    """A queued result of each image for ``model_version``; return them.

    One row at a time, not bulk_create: the audit log records the creation of each result.
    """
    return [CellResult.objects.create(image=image, model_version=model_version)
            for image in images]


def claim_queued_results(result_ids):
    """Mark the still-queued results as running; return them. Others are left alone.

    Results "running" for longer than CLASSIFIER_STALE_AFTER_MINUTES are claimed too: their
    worker died and the broker re-delivered this message (acks late), so nobody else will.
    """
    stale_since = timezone.now() - timedelta(minutes=settings.CLASSIFIER_STALE_AFTER_MINUTES)
    claimable = Q(status=Status.QUEUED) | Q(status=Status.RUNNING, started_at__lt=stale_since)
    with transaction.atomic():
        claimed = list(
            CellResult.objects.select_for_update()
            .filter(claimable, pk__in=result_ids)
            .select_related("image")
        )
        CellResult.objects.filter(pk__in=[r.pk for r in claimed]).update(
            status=Status.RUNNING, started_at=timezone.now()
        )
    return claimed


def claim_by_model_version(result_ids):
    """The results claimed by :func:`claim_queued_results`, grouped by their model version."""
    by_version = defaultdict(list)
    for result in claim_queued_results(result_ids):
        by_version[result.model_version].append(result)
    return by_version


def open_stored_image(image_asset):
    with image_asset.file.open("rb") as stored:
        image = Image.open(stored)
        image.load()
    return image


def mark_failed(result, reason):
    result.status = Status.FAILED
    result.error = reason
    result.finished_at = timezone.now()
    result.save(update_fields=["status", "error", "finished_at"])


def read_stored_image(image_asset):
    """The decoded image, or the error that prevented reading it."""
    try:
        return open_stored_image(image_asset)
    except (OSError, ValueError) as error:
        return error


def load_cells(results, *classifiers):
    """Each result's stored image, decoded once and prepared for each of ``classifiers``, as
    (result, pixels) pairs (pixels: one array per classifier, see prepared_pixels); the
    results whose image could not be read are marked failed and left out."""
    def prepared_cell(image_asset):
        cell = read_stored_image(image_asset)
        if isinstance(cell, Exception):
            return cell
        try:
            return tuple(pixels[0] for pixels in prepared_pixels([cell], classifiers))
        except Exception as error:  # decoded but not convertible: this cell fails, not the batch
            return error

    # Decoding and resizing release the GIL, so two threads prepare a batch about twice as
    # fast.
    with ThreadPoolExecutor(max_workers=IMAGE_READ_THREADS) as pool:
        cells = list(pool.map(prepared_cell, [result.image for result in results]))
    loaded = []
    for result, cell in zip(results, cells):
        if isinstance(cell, Exception):
            mark_failed(result, f"The stored image could not be read: {cell}")
        else:
            loaded.append((result, cell))
    return loaded


PREDICTION_FIELDS = ("probabilities", "predicted_class", "refer_to_cytologist", "status",
                     "seconds_taken", "finished_at", "bethesda_model_version",
                     "bethesda_category", "bethesda_probabilities")


def save_results(results):
    """Write the predictions set by :func:`apply_predictions` and their audit entries: one
    statement run per row, and one insert."""
    # executemany of one UPDATE: bulk_update's CASE expressions took 138 ms for 32 rows on
    # SQLite (over a third of classifying them), and one ORM update() a row 0.7 ms a row.
    fields = [CellResult._meta.get_field(name) for name in PREDICTION_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    statement = (f"UPDATE {quote(CellResult._meta.db_table)} SET {assignments} "
                 f"WHERE {quote(CellResult._meta.pk.column)} = %s")
    rows = [[field.get_db_prep_save(getattr(result, field.attname), connection)
             for field in fields] + [result.pk] for result in results]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(statement, rows)
        # The raw UPDATE sends no signal, so django-auditlog would not see it: audit it here,
        # in the same transaction, one INSERT for the batch.
        LogEntry.objects.bulk_create(prediction_audit_entries(results))


AUDITED_PREDICTION_FIELDS = ("status", "predicted_class", "probabilities", "refer_to_cytologist",
                             "bethesda_model_version", "bethesda_category",
                             "bethesda_probabilities")


def prediction_audit_entries(results):
    """An audit entry per stored prediction, as django-auditlog writes for an update: no
    actor (the worker wrote it) and the model version that predicted it."""
    content_type = ContentType.objects.get_for_model(CellResult)  # cached after the first
    # A claimed result holds no prediction yet: "running", the other fields at their defaults.
    before = {name: audit_text(CellResult._meta.get_field(name).get_default())
              for name in AUDITED_PREDICTION_FIELDS}
    before["status"] = Status.RUNNING.value
    return [LogEntry(
        content_type=content_type, object_pk=str(result.pk), object_id=result.pk,
        object_repr=str(result), action=LogEntry.Action.UPDATE,
        changes={name: [before[name], audit_text(getattr(result, name))]
                 for name in AUDITED_PREDICTION_FIELDS},
        additional_data={"model_version": result.model_version, "by": "worker"},
    ) for result in results]


@dataclass(frozen=True)
class Classified:
    """What :func:`classify_batch` did: how many results it classified and stored, and the
    ids of those that need a Grad-CAM overlay (for the caller to queue, once stored)."""

    count: int = 0
    needing_heatmaps: tuple = ()


NOTHING_CLASSIFIED = Classified()


def classify_batch(version, results, started):
    """Classify claimed results of one model version, and with the active Bethesda model where
    there is one, store the predictions and rescore their specimens; a result that cannot be
    classified is marked failed with the reason (a Bethesda model that fails leaves the
    morphology classes standing, with no category).

    ``started`` is the ``time.perf_counter()`` of the claim: the time per image counts from it.
    """
    try:
        classifier = classifier_for(version)
    except Exception as error:
        return fail_all(results, error)
    bethesda = loaded_bethesda_classifier()
    loaded = load_cells(results, classifier, *([bethesda] if bethesda else []))
    if not loaded:
        return NOTHING_CLASSIFIED
    results, cells = zip(*loaded)
    pixels = [np.stack(per_classifier) for per_classifier in zip(*cells)]
    try:
        predict_results(classifier, bethesda, results, pixels, started)
    except Exception as error:
        return fail_all(results, error)
    save_results(results)
    update_triage_scores_of(results)
    return Classified(len(results), results_needing_heatmaps(classifier, results))


def fail_all(results, error):
    logger.exception("Classification of results %s failed", [r.pk for r in results])
    for result in results:
        mark_failed(result, f"The classifier failed: {error}")
    return NOTHING_CLASSIFIED


def results_needing_heatmaps(classifier, results):
    """Ids of the classified results to draw a Grad-CAM overlay for: none when the model has
    no explainer to draw them with."""
    if getattr(classifier, "explainer_", None) is None:
        return ()
    return tuple(result.pk for result in results if needs_heatmap(result))


def needs_heatmap(result):
    """Grad-CAM only for cells a cytologist will look at: flagged or predicted abnormal."""
    # A heat map costs a forward and a backward pass of its own (about 46 ms a cell against
    # 12 ms for a one-view prediction: EfficientNet-Lite0, 128 px, one CPU thread), so doing
    # it for every normal cell would at least halve the worker's throughput, for images
    # nobody inspects.
    return result.refer_to_cytologist or result.predicted_class in ABNORMAL_CLASSES


def classification_waiting():
    """Whether recently queued images are still to be classified (heat maps wait for them)."""
    recent = timezone.now() - timedelta(minutes=settings.CLASSIFIER_STALE_AFTER_MINUTES)
    return CellResult.objects.filter(status=Status.QUEUED, queued_at__gte=recent).exists()


def store_heatmaps_of(result_ids):
    """Store the Grad-CAM overlays of these classified results; return how many were stored.

    Results that already have one, or are gone (erased), are skipped, so a repeated task
    does no work twice. Written once, here; pages only read them.
    """
    pending = (CellResult.objects.filter(pk__in=result_ids, status=Status.DONE, heatmap="")
               .select_related("image").order_by("pk"))
    by_version = defaultdict(list)
    for result in pending:
        by_version[result.model_version].append(result)
    return sum(store_overlays(classifier_for(version), results)
               for version, results in by_version.items())


def store_overlays(classifier, results):
    """Compute and save the overlays of ``results`` with their model; return how many.

    A model without an explainer stores none; a failure is logged and leaves the heat maps
    empty: the predictions stand.
    """
    if getattr(classifier, "explainer_", None) is None:
        return 0
    images = [read_stored_image(result.image) for result in results]
    chosen = [(result, image) for result, image in zip(results, images)
              if not isinstance(image, Exception)]
    if not chosen:
        return 0
    try:
        from diagnostics.engine.explain import grad_cam_overlays

        overlays = grad_cam_overlays(classifier, [image for _, image in chosen],
                                     [result.predicted_class for result, _ in chosen])
    except Exception:
        logger.exception("Grad-CAM of results %s failed; they are kept without heat maps",
                         [result.pk for result, _ in chosen])
        return 0
    stored = 0
    for (result, _), overlay in zip(chosen, overlays):
        try:
            store_heatmap(result, overlay)
            stored += 1
        except Exception:
            logger.exception("The heat map of result %s could not be stored", result.pk)
            if result.heatmap:  # the result was erased meanwhile: leave no orphan file
                result.heatmap.delete(save=False)
    return stored


def store_heatmap(result, overlay):
    """Save the overlay as WebP beside where the PNGs went (heatmap_path's folder): about a
    tenth of the PNG's bytes for a blended photograph. Heat maps stored as PNG before stay
    as they are. Saved through the storage, since heatmap_path names every file .png."""
    name = str(PurePosixPath(heatmap_path(result, "")).with_suffix(".webp"))
    result.heatmap.name = result.heatmap.storage.save(
        name, ContentFile(webp_bytes(overlay)), max_length=result.heatmap.field.max_length)
    result.save(update_fields=["heatmap"])


def webp_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=HEATMAP_WEBP_QUALITY)
    return buffer.getvalue()


def release_stale_results(older_than):
    """Put back in the queue the work a dead worker or a lost message left behind: results
    still queued, or running, since before ``older_than`` ago. Return their ids, for
    diagnostics.tasks to send again.
    """
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        CellResult.objects.filter(status=Status.RUNNING, started_at__lt=cutoff).update(
            status=Status.QUEUED, started_at=None
        )
        return list(CellResult.objects.filter(status=Status.QUEUED, queued_at__lt=cutoff)
                    .order_by("pk").values_list("pk", flat=True))
