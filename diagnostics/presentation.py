"""What a specimen's page shows of its results: progress, charts and the ranked gallery.

The pages of imaging ask for these; how results are summarised lives here, with the
results, so the upload side never needs to know what a result holds.
"""
from datetime import timedelta

from django.utils import timezone

from celinsight.compiled_queries import ForKeys
from diagnostics.cell_summary import CellSummary
from diagnostics.chart_drawing import chart_drawing
from diagnostics.models import (CellResult, CellReview, bethesda_label, by_severity, class_names,
                                is_abnormal_bethesda_category)
from diagnostics.services import needs_heatmap
from diagnostics.triage import ABNORMAL_CLASSES, suspicion_of

GALLERY_SIZE = 48
# How long after classification the gallery keeps asking for a missing Grad-CAM overlay: the
# worker draws them once the queue is empty, and a model without an explainer draws none.
HEATMAP_WAIT = timedelta(hours=1)


def specimen_progress(specimen, summary=None):
    """Counts of the specimen's results by status, and whether work is still pending.

    ``referred`` counts the classified cells flagged "refer to cytologist".
    """
    summary = summary or CellSummary.of(specimen)
    progress = {status: 0 for status in CellResult.Status.values}
    for group in summary.groups:
        progress[group.status] += group.count
    progress["total"] = summary.cells(summary.groups)
    progress["referred"] = summary.cells(summary.done, lambda group: group.referred)
    progress["finished"] = progress["done"] + progress["failed"]
    progress["pending"] = progress["queued"] + progress["running"]
    progress["percent"] = (
        round(100 * progress["finished"] / progress["total"]) if progress["total"] else 100
    )
    return progress


def specimen_results(images):
    """The specimen page's summary of its classified cells: the charts, all of them ranked
    most suspicious first (the page shows GALLERY_SIZE at a time) and the counts, from images
    with their results prefetched. Reviewed cells count under their reviewed class."""
    classified = with_reviews(latest_classified_results(images))
    charts = specimen_charts(classified)
    return {
        "charts": charts,
        "chart_drawing": chart_drawing(charts),
        "gallery": ranked_gallery(classified),
        "classified_count": len(classified),
        "referred_count": sum(result.refer_to_cytologist for result in classified),
        "referred_to_review": sum(result.refer_to_cytologist and not result.cell_review
                                  for result in classified),
        "reviewed_count": sum(bool(result.cell_review) for result in classified),
        "bethesda": bethesda_summary(classified),
    }


def bethesda_summary(results):
    """The Bethesda model's view of the classified cells: cells per category (least severe
    first, categories no cell got as zero), how many are in an abnormal category, and the
    model versions, and how many were uploaded as cell images (outside the material the
    model was validated on: cells found in fields of view and slides); None when no cell
    has a category (no Bethesda model served them)."""
    categorised = [result for result in results if result.bethesda_category]
    if not categorised:
        return None
    categories = by_severity(dict.fromkeys(
        name for result in categorised for name in result.bethesda_probabilities))
    counts = {name: 0 for name in categories}
    for result in categorised:
        counts[result.bethesda_category] = counts.get(result.bethesda_category, 0) + 1
    return {
        "counts": [{"category": bethesda_label(name), "cells": cells,
                    "abnormal": is_abnormal_bethesda_category(name)}
                   for name, cells in counts.items()],
        "categorised": len(categorised),
        "flagged": sum(is_abnormal_bethesda_category(result.bethesda_category)
                       for result in categorised),
        "model_versions": sorted({result.bethesda_model_version for result in categorised}),
        "cell_images": sum(not result.image.cut_from_field for result in categorised),
        "morphology_model_versions": sorted({result.model_version for result in results}),
    }


def with_reviews(results):
    """The results, each with ``cell_review`` (its CellReview, or None) and ``shown_class``
    (the reviewer's class where reviewed, else the model's): one query for all of them, the
    reviews of their specimens (compiled once for each number of specimens)."""
    specimen_keys = sorted({result.image.specimen_id for result in results})
    reviews = {review.result_id: review
               for review in REVIEWS_OF_SPECIMENS(specimen_keys)} if specimen_keys else {}
    for result in results:
        result.cell_review = reviews.get(result.pk)
        result.shown_class = (result.cell_review.reviewed_class if result.cell_review
                              else result.predicted_class)
    return results


REVIEWS_OF_SPECIMENS = ForKeys(lambda keys: CellReview.objects.filter(
    result__image__specimen__in=keys).select_related("reviewer").order_by())


def latest_classified_results(images):
    """The latest result of each image, where it is classified (from prefetched results)."""
    latest = (image.latest_result() for image in images)
    return [result for result in latest if result and result.status == CellResult.Status.DONE]


def specimen_charts(results):
    """Data for the class-distribution and confidence charts (drawn by chart_drawing).

    Classes in alphabetical order (models.class_names), so classes no cell got still show
    as zero. A
    cell counts under its ``shown_class`` where it has one (the reviewer's, see
    with_reviews), else the model's; ``reviewed`` counts the cells per class a reviewer
    put there (accepted or overridden), ``overridden`` those a reviewer moved there.
    """
    classes = class_names(result.probabilities for result in results)
    counts, reviewed, overridden = ({name: 0 for name in classes} for _ in range(3))
    for result in results:
        shown = getattr(result, "shown_class", result.predicted_class)
        counts[shown] += 1
        cell_review = getattr(result, "cell_review", None)
        if cell_review:
            reviewed[shown] += 1
            overridden[shown] += not cell_review.accepted
    return {"classes": classes, "counts": [counts[name] for name in classes],
            "reviewed": [reviewed[name] for name in classes],
            "overridden": [overridden[name] for name in classes],
            "abnormal_classes": list(ABNORMAL_CLASSES),
            "confidences": [round(result.confidence, 4) for result in results]}


def ranked_gallery(results):
    """Classified cells, most suspicious first (diagnostics.triage.cell_suspicion, the
    measure behind the triage score), which each result carries as ``abnormal_probability``."""
    for result in results:
        result.abnormal_probability = suspicion_of(result)
    return sorted(results, key=lambda result: result.abnormal_probability, reverse=True)


def heatmaps_pending(results):
    """Whether any of these results should get a Grad-CAM overlay that has not arrived yet
    (the gallery keeps polling until none is pending, or HEATMAP_WAIT has passed)."""
    since = timezone.now() - HEATMAP_WAIT
    return any(needs_heatmap(result) and not result.heatmap
               and result.finished_at and result.finished_at >= since for result in results)


def gallery_place(ranked, result):
    """Where ``result`` stands in the gallery's ranked order: its rank (from 1) and the cells
    before and after it; all None when it is not in the gallery (an earlier model's result)."""
    ids = [cell.pk for cell in ranked]
    if result.pk not in ids:
        return {"rank": None, "previous": None, "next": None}
    position = ids.index(result.pk)
    return {"rank": position + 1,
            "previous": ranked[position - 1] if position > 0 else None,
            "next": ranked[position + 1] if position + 1 < len(ranked) else None}
