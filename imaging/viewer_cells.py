"""The cells the zoomable viewer marks on a field or a whole slide, as arrays, and the part of
them in one region as JSON.

A field's cells are its crops (each with its latest result); a whole slide's are the rows
of its Parquet cell table (10^4-10^5), of which only the top-ranked and flagged have crops:
those are matched to their table rows by position and link to their cell pages. A cell is
flagged as diagnostics.slide_cells keeps it: of an abnormal Bethesda category on a slide
(diagnostics.triage.suspicious_cells); referred to a cytologist, or of an abnormal
morphology class, in a field (and on a slide where the Bethesda model gave nothing). A
region answers at most MARKS_PER_REQUEST cells, flagged first, then the most suspicious
(by the Bethesda model where it answered: diagnostics.triage.cell_suspicion).
"""
from dataclasses import dataclass

import numpy as np
from django.urls import reverse

from diagnostics.models import CellResult
from diagnostics.triage import ABNORMAL_CLASSES, cell_suspicion, suspicious_cells
from imaging.deep_zoom import BoundedCache
from imaging.models import ImageAsset

MARKS_PER_REQUEST = 2000
# Okabe-Ito: told apart with the common colour-vision deficiencies; the legend names each.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
UNCLASSIFIED = "not classified yet"
UNCLASSIFIED_COLOUR = "#777777"
MIN_RADIUS = 6
cell_tables_cache = BoundedCache(4)  # a 10^5-cell slide's arrays: about 2 MB


@dataclass
class CellMarks:
    """Every cell of a field or slide: positions and radii in its level-0 pixels, the index
    of its class in ``classes``, flagged, suspicion (abnormal probability) for the order."""
    classes: list
    x: np.ndarray
    y: np.ndarray
    radius: np.ndarray
    class_index: np.ndarray
    flagged: np.ndarray
    suspicion: np.ndarray

    def __len__(self):
        return len(self.x)

    def legend(self):
        """(class, colour, cells) of each class that has cells, in the model's order."""
        counts = np.bincount(self.class_index, minlength=len(self.classes))
        return [{"name": name, "colour": class_colour(name, index), "count": int(count)}
                for index, (name, count) in enumerate(zip(self.classes, counts)) if count]


def class_colour(name, index):
    return UNCLASSIFIED_COLOUR if name == UNCLASSIFIED else PALETTE[index % len(PALETTE)]


def cell_marks(field):
    """The CellMarks of a FieldOfView: its table's for a slide, its crops' for a field."""
    if field.image.kind != ImageAsset.Kind.SLIDE:
        return crop_marks(field_crops(field))
    if not field.cell_table:
        return empty_marks()
    return cell_tables_cache.get((field.pk, field.cell_table.name),
                                 lambda: table_marks(field.cell_table))


def marks_and_crops(field, region=None):
    """The field's CellMarks and its crops (those in ``region``, for a slide) by their
    position as the cell table stores it (float32), to link the marks to cell pages."""
    if field.image.kind == ImageAsset.Kind.SLIDE:
        marks, crops = cell_marks(field), field_crops(field, region)
    else:
        crops = field_crops(field)
        marks = crop_marks(crops)
    return marks, {(float(np.float32(crop.x)), float(np.float32(crop.y))): crop
                   for crop in crops}


def empty_marks():
    nothing = np.zeros(0, dtype=np.float32)
    return CellMarks([], nothing, nothing, nothing, np.zeros(0, dtype=np.int64),
                     np.zeros(0, dtype=bool), nothing)


def table_marks(stored_table):
    from diagnostics.engine.cell_table import read_cell_table

    with stored_table.open("rb") as source:
        table = read_cell_table(source)
    predicted = table.column("predicted_class").combine_chunks()
    classes = [str(name) for name in predicted.dictionary.to_pylist()]
    class_index = np.asarray(predicted.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    column = lambda name: table.column(name).to_numpy().astype(np.float32)  # noqa: E731
    flagged, suspicion = table_suspicion(table, column)
    return CellMarks(classes, column("x"), column("y"), column("radius"), class_index,
                     np.asarray(flagged, dtype=bool), np.asarray(suspicion, dtype=np.float32))


def table_suspicion(table, column):
    """(flagged, suspicion) of a slide table's cells as diagnostics.slide_cells kept them:
    by the Bethesda model's columns where it answered, else by the morphology model's."""
    def probabilities(prefix):
        names = [name.removeprefix(prefix) for name in table.column_names
                 if name.startswith(prefix)]
        columns = [column(prefix + name) for name in names]
        return names, np.stack(columns, axis=1) if columns else None

    classes, morphology = probabilities("p_")
    flagged, suspicion = suspicious_cells(
        morphology, classes, table.column("referred").to_numpy().astype(bool))
    bethesda_classes, bethesda = probabilities("b_")
    if bethesda_classes:
        answered = ~np.isnan(bethesda).any(axis=1)  # null where a tile's Bethesda pass failed
        by_bethesda = suspicious_cells(bethesda[answered], bethesda_classes)
        flagged[answered], suspicion[answered] = by_bethesda
    return flagged, suspicion


@dataclass
class Crop:
    """A crop cut from the field or slide, with its latest result (or None)."""
    pk: int
    x: float
    y: float
    radius: float
    result_id: int = None
    predicted_class: str = ""
    flagged: bool = False
    suspicion: float = 0.0


def field_crops(field, region=None):
    """The crops of the field (in ``region``, a pixel or so around it, if given) with their
    latest results: two queries, however many."""
    images = ImageAsset.objects.filter(source_field=field)
    if region is not None:
        left, top, right, bottom = region
        images = images.filter(field_x__gte=left - 1, field_x__lte=right + 1,
                               field_y__gte=top - 1, field_y__lte=bottom + 1)
    crops = {pk: Crop(pk, x or 0.0, y or 0.0, radius or 0.0) for pk, x, y, radius in
             images.order_by("pk").values_list("pk", "field_x", "field_y", "nucleus_radius")}
    results = (CellResult.objects.filter(image__in=images).order_by("queued_at", "pk")
               .values_list("image_id", "pk", "status", "predicted_class", "probabilities",
                            "refer_to_cytologist", "bethesda_probabilities"))
    for image_id, pk, status, predicted, probabilities, referred, bethesda in results:
        crop = crops.get(image_id)  # the latest result comes last and wins
        if crop is None:  # a crop saved between the two queries
            continue
        done = status == CellResult.Status.DONE
        crop.result_id = pk if done else None
        crop.predicted_class = predicted if done else ""
        crop.flagged = done and (referred or predicted in ABNORMAL_CLASSES)
        crop.suspicion = cell_suspicion(probabilities or {}, bethesda, cut_from_field=True) \
            if done else 0.0
    return list(crops.values())


def crop_marks(crops):
    names = [crop.predicted_class or UNCLASSIFIED for crop in crops]
    classes = list(dict.fromkeys(sorted(name for name in names if name != UNCLASSIFIED)))
    if UNCLASSIFIED in names:
        classes.append(UNCLASSIFIED)
    floats = lambda values: np.asarray(values, dtype=np.float32)  # noqa: E731
    return CellMarks(
        classes, floats([crop.x for crop in crops]), floats([crop.y for crop in crops]),
        floats([crop.radius for crop in crops]),
        np.asarray([classes.index(name) for name in names], dtype=np.int64),
        np.asarray([crop.flagged for crop in crops], dtype=bool),
        floats([crop.suspicion for crop in crops]))


def marks_in_region(marks, region, flagged_only=False, limit=None):
    """Indices of the cells inside ``region`` (left, top, right, bottom; None: all), the
    flagged ones only if asked, most suspicious first, at most ``limit``; and how many
    there were before the limit."""
    limit = MARKS_PER_REQUEST if limit is None else limit
    inside = np.ones(len(marks), dtype=bool)
    if region is not None:
        left, top, right, bottom = region
        inside = (marks.x >= left) & (marks.x <= right) & (marks.y >= top) & (marks.y <= bottom)
    if flagged_only:
        inside &= marks.flagged
    chosen = np.flatnonzero(inside)
    rank = marks.flagged[chosen].astype(np.float32) + marks.suspicion[chosen]
    if len(chosen) > limit:
        chosen = chosen[np.argpartition(-rank, limit - 1)[:limit]]
        rank = marks.flagged[chosen].astype(np.float32) + marks.suspicion[chosen]
    return chosen[np.argsort(-rank, kind="stable")], int(inside.sum())


def region_json(specimen, marks, crops, region, flagged_only):
    """The JSON the viewer draws for one region: its cells as
    ``[x, y, radius, class index, flagged, cell page URL or null, crop id or null]``;
    ``crops`` by position, as marks_and_crops gives them."""
    chosen, total = marks_in_region(marks, region, flagged_only)
    cells = []
    for index in chosen.tolist():
        x, y = marks.x[index], marks.y[index]
        crop = crops.get((float(x), float(y)))
        link = (reverse("diagnostics:cell", args=[specimen.pk, crop.result_id])
                if crop is not None and crop.result_id else None)
        cells.append([round(float(x), 1), round(float(y), 1),
                      max(round(float(marks.radius[index]), 1), MIN_RADIUS),
                      int(marks.class_index[index]), int(marks.flagged[index]), link,
                      crop.pk if crop is not None else None])
    return {"classes": [{"name": name, "colour": class_colour(name, index)}
                        for index, name in enumerate(marks.classes)],
            "cells": cells, "in_region": total, "shown": len(cells),
            "truncated": len(cells) < total}

