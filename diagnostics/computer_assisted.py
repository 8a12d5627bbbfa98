"""What the AI contributes to a Bethesda report: counts, the most suspicious cells and a
suggested general category. It pre-fills and informs; it never signs.

Each cell has two classes: its morphology class (SIPaKMeD's, reported as morphology
findings; the general category is suggested from them) and its Bethesda category, by the
Bethesda model, which the section counts and flags by. The Bethesda model was trained and
validated on cells cut from fields of view; on isolated cells from another lab it calls
45% of normal-morphology cells abnormal (bench/README.md, "The 14-epoch pair, shipped"),
so the section says how many of its counted cells were uploaded as cell images.
"""
from celinsight.compiled_queries import CompiledQuery
from diagnostics.bethesda import GeneralCategory
from diagnostics.cell_summary import CellSummary
from diagnostics.models import (CellResult, bethesda_label, by_severity,
                                is_abnormal_bethesda_category)
from diagnostics.triage import ABNORMAL_CLASSES, suspicion_column, suspicion_of

MOST_SUSPICIOUS = 5


def computer_assisted_section(specimen, summary=None):
    """The report's computer-assisted fields from the specimen's classified cells now; frozen
    on a report version when it is signed. ``summary``: its CellSummary, where the caller has
    one."""
    summary = summary or CellSummary.of(specimen)
    counts = morphology_counts(summary.done)
    bethesda, bethesda_flagged = bethesda_counts(summary.done)
    return {
        "ai_used": summary.done_count > 0,
        "ai_model_versions": list(counts) + list(bethesda),
        "cells_analysed": summary.done_count,
        "cells_flagged": summary.cells(
            summary.done, lambda group: group.predicted_class in ABNORMAL_CLASSES),
        "cells_referred": summary.cells(summary.done, lambda group: group.referred),
        "morphology_counts": counts,
        "bethesda_counts": bethesda,
        "cells_flagged_bethesda": bethesda_flagged if bethesda else None,
        "bethesda_cell_images": summary.cells(summary.done, lambda group: (
            group.bethesda_category and not group.cut_from_field)) if bethesda else None,
        "most_suspicious_cells": most_suspicious_cells(specimen),
    }


def morphology_counts(done_groups):
    """{model version: {morphology class: cells}}, versions in order, most frequent class
    first (ties by name)."""
    by_version = {}
    for group in done_groups:
        by_class = by_version.setdefault(group.model_version, {})
        by_class[group.predicted_class] = by_class.get(group.predicted_class, 0) + group.count
    return {version: dict(sorted(by_class.items(), key=lambda item: (-item[1], item[0])))
            for version, by_class in sorted(by_version.items())}


def bethesda_counts(done_groups):
    """({Bethesda model version: {category label: cells}}, cells in an abnormal category),
    categories least severe first; cells without a category are left out."""
    by_version = {}
    for group in done_groups:
        if group.bethesda_category:
            by_category = by_version.setdefault(group.bethesda_model_version, {})
            by_category[group.bethesda_category] = (
                by_category.get(group.bethesda_category, 0) + group.count)
    counts = {version: {bethesda_label(name): by_category[name]
                        for name in by_severity(by_category)}
              for version, by_category in sorted(by_version.items())}
    flagged = sum(count for by_category in by_version.values()
                  for name, count in by_category.items() if is_abnormal_bethesda_category(name))
    return counts, flagged


def most_suspicious_cells(specimen):
    """The most suspicious cells (diagnostics.triage.cell_suspicion), with any reviewer's
    class."""
    return [{
        "result": result.pk,
        "image": result.image.original_name,
        "model_version": result.model_version,
        "predicted_class": result.predicted_class,
        "bethesda_category": bethesda_label(result.bethesda_category),
        "abnormal_probability": round(suspicion_of(result), 4),
        "reviewed_class": result.review.reviewed_class if hasattr(result, "review") else "",
    } for result in MOST_SUSPICIOUS_OF(specimen.pk)]


# The database ranks them, as for the triage score: a slide's thousands of probability maps
# are not decoded in Python on every review page.
MOST_SUSPICIOUS_OF = CompiledQuery(lambda key: (
    CellResult.objects.filter(image__specimen=key, status=CellResult.Status.DONE)
    .select_related("image", "review")
    .annotate(abnormal=suspicion_column())
    .order_by("-abnormal", "queued_at", "pk")[:MOST_SUSPICIOUS]), -1)


def suggested_general_category(specimen, summary=None):
    """NILM when no classified cell is in an abnormal morphology class (the reviewer's class
    where reviewed, else the model's), else epithelial cell abnormality; None when the AI
    classified nothing. A suggestion shown to the signer, never the interpretation."""
    summary = summary or CellSummary.of(specimen)
    if not summary.done_count:
        return None
    abnormal = summary.cells(summary.done, lambda group: (
        group.predicted_class if group.reviewed_class is None else group.reviewed_class)
        in ABNORMAL_CLASSES)
    return GeneralCategory.EPITHELIAL_ABNORMALITY if abnormal else GeneralCategory.NILM
