"""Scan a whole slide: detect and classify its cells tile by tile, write every cell to the
slide's Parquet cell table, and keep database rows (crops with their results, classified in
the scan) only for
the SLIDE_CELL_ROWS top-scored cells and the SLIDE_FLAGGED_ROWS most suspicious flagged
ones. Called by
diagnostics.field_cells for a FieldOfView whose image is a slide; nothing here imports tasks.

Memory stays bounded: one tile at a time (diagnostics.engine.whole_slide), the table written
in row groups, the kept crops in heaps of SLIDE_CELL_ROWS and SLIDE_FLAGGED_ROWS (128 px
RGB: 48 KiB a crop). A slide ends "done" with its table and kept crops, or "failed" with none.
"""
import heapq
import itertools
import logging
import tempfile
import time
from datetime import timedelta
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.core.files import File
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from diagnostics.cell_predictions import (ClassifiedCrops, apply_bethesda_predictions,
                                          apply_predictions, loaded_bethesda_classifier,
                                          predicted_probabilities, prepared_pixels)
from diagnostics.classifier import classifier_for
from diagnostics.models import CellResult
from diagnostics.triage import suspicious_cells
from imaging.fields import delete_stored_bytes, store_crops
from imaging.models import FieldOfView
from imaging.slide_parts import local_slide_path

logger = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 1.0
# A local path to a stored slide, every part of it (imaging.slide_parts); kept under its
# earlier name for the readers of slides that import it from here.
local_slide = local_slide_path


class ProgressSaver:
    """Saves the scan's tiles done / total on the slide's row, at most once a second. It
    also moves ``started_at`` on: a slide scanned for longer than
    CLASSIFIER_STALE_AFTER_MINUTES is alive, not stale, while its tiles advance."""

    def __init__(self, field):
        self.field_id, self.last = field.pk, 0.0

    def __call__(self, done, total):
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS and done not in (0, total):
            return
        self.last = now
        FieldOfView.objects.filter(pk=self.field_id, status=FieldOfView.Status.RUNNING).update(
            tiles_done=done, tiles_total=total, started_at=timezone.now())


class BestCells:
    """The ``limit`` best-ranked of the cells offered: their crops in a bounded heap."""

    def __init__(self, limit):
        self.limit, self._heap, self._order = limit, [], itertools.count()

    def offer(self, rank, crop, position, prediction):
        if not self.limit:
            return
        entry = (rank, next(self._order), crop, position, prediction)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, entry)
        elif rank > self._heap[0][0]:
            heapq.heapreplace(self._heap, entry)

    def best_first(self):
        return sorted(self._heap, key=lambda entry: -entry[0])


class KeptCells:
    """The cells that get rows: the SLIDE_FLAGGED_ROWS most suspicious flagged cells (by
    their abnormal classes' probability) and the SLIDE_CELL_ROWS best-scored others, held in
    bounded heaps while the slide is scanned and stored at the end."""

    def __init__(self, field, top_rows, flagged_rows):
        self.field = field
        self.top, self.flagged = BestCells(top_rows), BestCells(flagged_rows)
        self.flagged_seen = 0

    def offer(self, crops, positions, flagged, suspicion, predictions):
        """``predictions``: each crop's TilePrediction, kept with it for its row."""
        for crop, position, flag, rank, prediction in zip(crops, positions, flagged, suspicion,
                                                          predictions):
            if flag:
                self.flagged_seen += 1
                self.flagged.offer(float(rank), crop, position, prediction)
            else:
                self.top.offer(position[2], crop, position, prediction)

    def store(self):
        """Store the kept crops; return their unsaved images, one per distinct crop new to
        the specimen, and each one's TilePrediction."""
        chosen = self.flagged.best_first() + self.top.best_first()
        if not chosen:
            return [], []
        images = store_crops(self.field, [entry[2] for entry in chosen],
                             [entry[3] for entry in chosen])
        # store_crops leaves out crops the specimen holds already; each image keeps its crop.
        prediction_of = {id(entry[2]): entry[4] for entry in chosen}
        return images, [prediction_of[id(image.crop)] for image in images]


class TilePrediction(NamedTuple):
    """A kept cell's predictions from its tile's pass: its morphology probabilities (in the
    classifier's class order), whether it is referred, and its Bethesda probabilities (None
    where the Bethesda model failed on its tile or none is served)."""

    probabilities: np.ndarray
    referred: bool
    bethesda_probabilities: object


def tile_predictions(probabilities, referred, bethesda_probabilities):
    # Copies: a kept cell must not hold its whole tile's arrays.
    return [TilePrediction(row.copy(), bool(refer), None if bethesda_probabilities is None
                           else bethesda_probabilities[index].copy())
            for index, (row, refer) in enumerate(zip(probabilities, referred))]


def classified_kept_cells(images, predictions, classifier, bethesda, model_version, seconds):
    """The kept crops' unsaved results, classified with the predictions of their tiles' pass
    (no second pass, no queued result): ClassifiedCrops, or None for no crop."""
    if not images:
        return None
    results = [CellResult(image=image, model_version=model_version) for image in images]
    apply_predictions(results, [p.probabilities for p in predictions],
                      [p.referred for p in predictions], classifier.classes_, seconds)
    for result, prediction in zip(results, predictions):
        result.started_at = result.finished_at - timedelta(seconds=seconds)
        if prediction.bethesda_probabilities is not None:
            apply_bethesda_predictions([result], [prediction.bethesda_probabilities],
                                       bethesda.classes_, bethesda.version)
    return ClassifiedCrops(classifier, results)


def classify_tile(classifier, bethesda, crops, names="a tile"):
    """(probabilities, referred, flagged, suspicion, Bethesda probabilities or None) of a
    tile's crops with the served classifier and the Bethesda model (None: none served).
    Flagged and suspicion (the probability of abnormality) come from the Bethesda model
    where it answered, else from the morphology model (see suspicious_cells)."""
    classifiers = (classifier, *([bethesda] if bethesda else []))
    pixels = prepared_pixels(crops, classifiers)
    probabilities, bethesda_probabilities = predicted_probabilities(
        classifier, bethesda, pixels, names)
    referred = np.asarray(classifier.needs_referral(probabilities), dtype=bool)
    if bethesda_probabilities is not None:
        flagged, suspicion = suspicious_cells(bethesda_probabilities, bethesda.classes_)
    else:
        flagged, suspicion = suspicious_cells(probabilities, classifier.classes_, referred)
    return probabilities, referred, flagged, suspicion, bethesda_probabilities


def scan_cells(field, slide_path, detector, classifier, table_path, kept, bethesda=None):
    """Scan the slide, write its table (both models' classes where a Bethesda model is
    served), offer each tile's cells to ``kept``; return the scan."""
    from diagnostics.engine.cell_table import CellTableWriter
    from diagnostics.engine.whole_slide import open_slide, scan_slide

    field.detector_version = detector.metadata_.get("version", "")
    with open_slide(slide_path) as slide, \
            CellTableWriter(table_path, classifier.classes_,
                            bethesda.classes_ if bethesda else ()) as table:
        scan = scan_slide(slide, detector, progress=ProgressSaver(field),
                          crop_size=settings.CELL_CROP_PX)
        for tile in scan:
            chosen = np.flatnonzero(tile.score >= settings.DETECTOR_MIN_SCORE)
            if not len(chosen):
                continue
            crops = tile.crops()
            crops = [crops[index] for index in chosen]
            x, y, score, radius = (tile.x[chosen], tile.y[chosen], tile.score[chosen],
                                   tile.radius[chosen])
            probabilities, referred, flagged, suspicion, bethesda_probabilities = \
                classify_tile(classifier, bethesda, crops, f"slide {field.pk}")
            table.write(x, y, radius, score, probabilities, referred, bethesda_probabilities)
            kept.offer(crops, list(zip(x.tolist(), y.tolist(), score.tolist(),
                                       radius.tolist())), flagged, suspicion,
                       tile_predictions(probabilities, referred, bethesda_probabilities))
        scan.table_rows = table.rows
    return scan


def find_cells_in_slide(field, model_version, worker):
    """Scan the slide of ``field`` (claimed, running); store its table and kept crops with
    their results, classified in the scan; return what was stored (field_cells.StoredCells). ``worker`` is diagnostics.field_cells
    (passed in, as it imports this): its detector, FieldFailed and savers."""
    failed, save_cells, mark_done = worker.FieldFailed, worker.save_field_cells, worker.mark_done
    started = time.perf_counter()
    kept = KeptCells(field, settings.SLIDE_CELL_ROWS, settings.SLIDE_FLAGGED_ROWS)
    images = []
    try:
        classifier = classifier_for(model_version)
        bethesda = loaded_bethesda_classifier()
        detector = worker.field_detector()
        with tempfile.TemporaryDirectory() as folder:
            table_path = f"{folder}/cells.parquet"
            with local_slide(field.image.file) as slide_path:
                scan = scan_cells(field, slide_path, detector, classifier, table_path, kept,
                                  bethesda)
            images, predictions = kept.store()
            with open(table_path, "rb") as table:
                field.cell_table.save(f"{field.image.sha256}-{model_version}.parquet"[-120:],
                                      File(table), save=False)
    except (OperationalError, InterfaceError):
        delete_stored_bytes(images)
        raise
    except Exception as error:
        delete_stored_bytes(images)
        logger.exception("Scanning slide %s failed", field.pk)
        raise failed(f"The slide could not be scanned ({error}); no cell of it was "
                     f"stored.") from error
    try:
        with transaction.atomic():
            seconds = (time.perf_counter() - started) / max(scan.table_rows, 1)
            stored = save_cells(field, images, model_version, classified_kept_cells(
                images, predictions, classifier, bethesda, model_version, seconds))
            field.tiles_done = field.tiles_total = scan.tiles_total
            mark_done(field, scan.table_rows, len(images), time.perf_counter() - started,
                      extra_fields=("tiles_done", "tiles_total", "cell_table"))
    except BaseException as error:
        delete_stored_bytes(images)
        field.cell_table.delete(save=False)
        if isinstance(error, (failed, OperationalError, InterfaceError)) or \
                not isinstance(error, Exception):
            raise
        logger.exception("Storing the cells of slide %s failed", field.pk)
        raise failed(f"Its cells could not be stored ({error}).") from error
    return stored
