"""Find the cells of fields of view: claim, detect, cut, classify the crops from memory and
store them with their results, and return what is still to be done (heat maps, and cells
left to classify_results where they could not be classified here). Sending work to the
workers is diagnostics.tasks' job; nothing here imports it.

A field either ends "done" with all its crops and their results stored, or "failed" with the
reason and none of them: the rows are written in one transaction, and the bytes of a field
whose transaction did not commit are removed.
"""
import functools
import logging
import sys
import time
from dataclasses import dataclass
from datetime import timedelta

from auditlog.models import LogEntry
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image

from diagnostics.cell_predictions import (ClassifiedCrops, loaded_bethesda_classifier,
                                          predict_results, prepared_pixels)
from diagnostics.classifier import classifier_for
from diagnostics.models import CellResult
from diagnostics.review import ReviewRefused, lock_specimen, refuse_if_signed_off
from diagnostics.services import results_needing_heatmaps
from diagnostics.slide_cells import find_cells_in_slide
from diagnostics.triage import update_triage_scores_of
from imaging.fields import creation_audit_entries, delete_stored_bytes, save_crop_rows, store_crops
from imaging.models import FieldOfView, ImageAsset

logger = logging.getLogger(__name__)
Status = FieldOfView.Status


class FieldFailed(Exception):
    """The field's cells could not be found or stored; the message says why, for the user."""


@dataclass(frozen=True)
class StoredCells:
    """What a field's search stored: how many cells, the ids of the results still queued
    for classify_results, and of those classified here that need a heat map."""

    count: int = 0
    queued: tuple = ()
    needing_heatmaps: tuple = ()

    def __add__(self, other):
        return StoredCells(self.count + other.count, self.queued + other.queued,
                           self.needing_heatmaps + other.needing_heatmaps)


@functools.cache
def load_field_detector(directory):
    """The nucleus detector of ``directory``, loaded (and its files' sha256 checked) once per
    worker process."""
    from diagnostics.engine.cell_detector_artefact import load_detector

    return load_detector(directory)


def field_detector():
    return load_field_detector(str(settings.DETECTOR_DIR))


def create_queued_fields(images):
    """A queued FieldOfView for each stored field image (a video's frames say which video
    and when); return them."""
    fields = []
    for image in images:
        video_name, seconds = getattr(image, "video_frame", None) or ("", None)
        fields.append(FieldOfView.objects.create(image=image, video_name=video_name,
                                                 frame_seconds=seconds))
    return fields


def detection_tasks(fields):
    """The fields' ids grouped into tasks: each field alone, a video's frames together in
    time order (the tracker needs them in one process, one after the other)."""
    videos, tasks = {}, []
    for field in fields:
        if field.video_name:
            videos.setdefault(field.video_name, []).append(field)
        else:
            tasks.append([field.pk])
    for frames in videos.values():
        frames.sort(key=lambda frame: frame.frame_seconds)
        tasks.append([frame.pk for frame in frames])
    return tasks


def claim_queued_fields(field_ids):
    """Mark the still-queued fields (or those left running by a dead worker) as running;
    return them in the order of ``field_ids``."""
    stale_since = timezone.now() - timedelta(minutes=settings.CLASSIFIER_STALE_AFTER_MINUTES)
    claimable = Q(status=Status.QUEUED) | Q(status=Status.RUNNING, started_at__lt=stale_since)
    with transaction.atomic():
        claimed = {field.pk: field for field in FieldOfView.objects.select_for_update()
                   .filter(claimable, pk__in=field_ids).select_related("image__specimen")}
        FieldOfView.objects.filter(pk__in=list(claimed)).update(
            status=Status.RUNNING, started_at=timezone.now())
    return [claimed[pk] for pk in field_ids if pk in claimed]


def release_unfinished_fields(field_ids, claimed_since):
    """Put back in the queue the fields an attempt claimed and could not finish."""
    FieldOfView.objects.filter(pk__in=field_ids, status=Status.RUNNING,
                               started_at__gte=claimed_since).update(
        status=Status.QUEUED, started_at=None)


def release_stale_fields(older_than):
    """Put back in the queue the fields a dead worker or a lost message left behind (queued
    or running since before ``older_than`` ago); return them as detection_tasks groups."""
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        FieldOfView.objects.filter(status=Status.RUNNING, started_at__lt=cutoff).update(
            status=Status.QUEUED, started_at=None)
        return detection_tasks(FieldOfView.objects.filter(status=Status.QUEUED,
                                                          queued_at__lt=cutoff).order_by("pk"))


def find_cells_in_fields(field_ids, model_version, send_cells=lambda cells: None):
    """Find, classify with ``model_version`` and store the cells of the queued fields with
    these ids; return what was stored (StoredCells). ``send_cells`` is given each field's
    StoredCells as soon as they are committed, so a long video's first cells are finished
    while its later frames are searched. A field that fails is marked failed with the
    reason and leaves nothing behind; the others go on."""
    from diagnostics.engine.tracking import CellTracker

    tracker = CellTracker(settings.VIDEO_TRACK_RADIUS_PX)
    stored = StoredCells()
    fields = claim_queued_fields(field_ids)
    for index, field in enumerate(fields):
        last_frame = index == len(fields) - 1
        try:
            if field.image.kind == ImageAsset.Kind.SLIDE:  # this module passed: no import cycle
                field_cells = find_cells_in_slide(field, model_version, sys.modules[__name__])
            else:
                field_cells = find_cells_in_field(
                    field, model_version, tracker if field.video_name else None, last_frame)
        except FieldFailed as failure:
            mark_failed(field, str(failure))
            continue
        send_cells(field_cells)
        stored += field_cells
    return stored


def find_cells_in_field(field, model_version, tracker=None, last_frame=False):
    """Detect the field's nuclei, cut and classify a crop of each (with a tracker, each cell
    not counted in an earlier frame of the video), store them with their results; return
    the StoredCells. Raises FieldFailed."""
    started = time.perf_counter()
    picture = read_field(field)
    detections = detect_nuclei(field, picture)
    new = detections
    if tracker is not None:  # a video's frame: only the cells no earlier frame counted
        new = detections.subset(tracker.new_cells(picture, detections.x, detections.y,
                                                  last=last_frame))
    images = store_crop_files(field, cut_crops(picture, new), new.rows())
    try:
        classified = classify_crops(images, model_version)
        with transaction.atomic():
            stored = save_field_cells(field, images, model_version, classified)
            mark_done(field, len(detections), len(images), time.perf_counter() - started)
    except BaseException as error:
        delete_stored_bytes(images)  # rolled back: no crop of this field is kept
        if isinstance(error, (FieldFailed, OperationalError, InterfaceError)):
            raise  # a transient database error: the task tries the field again
        if isinstance(error, Exception):
            logger.exception("Storing the cells of field %s failed", field.pk)
            raise FieldFailed(f"Its cells could not be stored ({error}).") from error
        raise
    return stored


def classify_crops(images, model_version):
    """ClassifiedCrops: unsaved results of the just-cut crops (each image's ``crop``),
    classified from memory by ``model_version`` and the active Bethesda model; None where
    they cannot be classified here (the model would not load or predict, logged): their
    results are then queued, and classify_results records on each why it fails."""
    if not images:
        return None
    started, started_at = time.perf_counter(), timezone.now()
    results = [CellResult(image=image, model_version=model_version, started_at=started_at)
               for image in images]
    try:
        classifier = classifier_for(model_version)
        bethesda = loaded_bethesda_classifier()
        classifiers = (classifier, *([bethesda] if bethesda else []))
        pixels = prepared_pixels([image.crop for image in images], classifiers)
        predict_results(classifier, bethesda, results, pixels, started)
    except Exception:
        logger.exception("The cells cut from field %s could not be classified at once; "
                         "they are queued", images[0].source_field_id)
        return None
    return ClassifiedCrops(classifier, results)


def read_field(field):
    try:
        with field.image.file.open("rb") as stored:
            picture = Image.open(stored)
            picture.load()
    except (OSError, ValueError) as error:
        raise FieldFailed(f"The stored field could not be read ({error}); upload it again.")
    # The detector reads grayscale as it is; anything else becomes RGB, as crops are.
    return picture if picture.mode in ("L", "RGB") else picture.convert("RGB")


def detect_nuclei(field, picture):
    try:
        detector = field_detector()
        detections = detector.detect(picture)
    except Exception as error:
        logger.exception("The detector failed on field %s", field.pk)
        raise FieldFailed(f"The cell detector could not process it ({error}); no cell of it "
                          f"was stored. Check that it is a field of view, or upload it as a "
                          f"cell crop.") from error
    field.detector_version = detector.metadata_.get("version", "")
    return detections.subset(detections.score >= settings.DETECTOR_MIN_SCORE)


def cut_crops(picture, detections):
    from diagnostics.engine.crops import cut_cell_crops

    return cut_cell_crops(picture, list(zip(detections.x, detections.y)),
                          size=settings.CELL_CROP_PX)


def store_crop_files(field, crops, positions):
    try:
        return store_crops(field, crops, positions)
    except Exception as error:
        logger.exception("Storing the crops of field %s failed", field.pk)
        raise FieldFailed(f"Its cells could not be stored ({error}); upload it again.") from error


def save_field_cells(field, images, model_version, classified=None):
    """The crops' rows and their results (``classified``'s, or else queued ones) with their
    audit entries, in the caller's transaction; the StoredCells."""
    specimen = field.image.specimen
    lock_specimen(specimen)
    try:
        refuse_if_signed_off(specimen)
    except ReviewRefused as refusal:
        raise FieldFailed(f"The specimen was signed off before its cells were found: {refusal}")
    save_crop_rows(images)
    if classified is None:
        results = CellResult.objects.bulk_create(
            [CellResult(image=image, model_version=model_version) for image in images])
        LogEntry.objects.bulk_create(creation_audit_entries(results))
        return StoredCells(len(results), tuple(result.pk for result in results))
    results = CellResult.objects.bulk_create(classified.results)
    LogEntry.objects.bulk_create(creation_audit_entries(results, model_version=model_version))
    update_triage_scores_of(results)
    return StoredCells(len(results), needing_heatmaps=tuple(
        results_needing_heatmaps(classified.classifier, results)))


def mark_done(field, cells_found, cells_cut, seconds, extra_fields=()):
    field.status, field.error = Status.DONE, ""
    field.cells_found, field.cells_cut = cells_found, cells_cut
    field.seconds_taken, field.finished_at = seconds, timezone.now()
    field.save(update_fields=["status", "error", "cells_found", "cells_cut", "seconds_taken",
                              "finished_at", "detector_version", *extra_fields])


def mark_failed(field, reason):
    field.status, field.error, field.finished_at = Status.FAILED, reason, timezone.now()
    field.save(update_fields=["status", "error", "finished_at", "detector_version"])
