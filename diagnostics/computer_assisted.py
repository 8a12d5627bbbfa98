"""What the AI contributes to a Bethesda report: counts, the most suspicious cells and a
suggested general category. It pre-fills and informs; it never signs.

Each cell has two classes: its morphology class (SIPaKMeD's, reported as morphology
findings; the general category is suggested from them) and its Bethesda category, by the
Bethesda model, which the section counts and flags by.
"""
from django.db.models import Count, Q

from diagnostics.bethesda import GeneralCategory
from diagnostics.models import (CellResult, bethesda_label, by_severity,
                                is_abnormal_bethesda_category)
from diagnostics.triage import (ABNORMAL_CLASSES, abnormal_probability,
                                abnormal_probability_column)

MOST_SUSPICIOUS = 5


def computer_assisted_section(specimen):
    """The report's computer-assisted fields from the specimen's classified cells now; frozen
    on a report version when it is signed."""
    done = CellResult.objects.filter(image__specimen=specimen, status=CellResult.Status.DONE)
    rows = (done.values_list("model_version", "predicted_class")
            .annotate(count=Count("pk"), referred=Count("pk", filter=Q(refer_to_cytologist=True)))
            .order_by("model_version", "-count", "predicted_class"))
    counts, referred = {}, 0
    for model_version, predicted_class, count, referred_here in rows:
        counts.setdefault(model_version, {})[predicted_class] = count
        referred += referred_here
    analysed = sum(sum(by_class.values()) for by_class in counts.values())
    flagged = sum(count for by_class in counts.values()
                  for name, count in by_class.items() if name in ABNORMAL_CLASSES)
    bethesda, bethesda_flagged = bethesda_counts(done)
    return {
        "ai_used": analysed > 0,
        "ai_model_versions": list(counts) + list(bethesda),
        "cells_analysed": analysed,
        "cells_flagged": flagged,
        "cells_referred": referred,
        "morphology_counts": counts,
        "bethesda_counts": bethesda,
        "cells_flagged_bethesda": bethesda_flagged if bethesda else None,
        "most_suspicious_cells": most_suspicious_cells(done),
    }


def bethesda_counts(done_results):
    """({Bethesda model version: {category label: cells}}, cells in an abnormal category),
    categories least severe first; cells without a category are left out."""
    rows = (done_results.exclude(bethesda_category="")
            .values_list("bethesda_model_version", "bethesda_category")
            .annotate(count=Count("pk")).order_by())
    by_version = {}
    for model_version, category, count in rows:
        by_version.setdefault(model_version, {})[category] = count
    counts = {version: {bethesda_label(name): by_category[name]
                        for name in by_severity(by_category)}
              for version, by_category in sorted(by_version.items())}
    flagged = sum(count for by_category in by_version.values()
                  for name, count in by_category.items() if is_abnormal_bethesda_category(name))
    return counts, flagged


def most_suspicious_cells(done_results, limit=MOST_SUSPICIOUS):
    """The cells with the largest abnormal probability mass, with any reviewer's class."""
    # The database ranks them, as for the triage score: a slide's thousands of probability
    # maps are not decoded in Python on every review page.
    ranked = (done_results.select_related("image", "review")
              .annotate(abnormal=abnormal_probability_column())
              .order_by("-abnormal", "queued_at", "pk")[:limit])
    return [{
        "result": result.pk,
        "image": result.image.original_name,
        "model_version": result.model_version,
        "predicted_class": result.predicted_class,
        "bethesda_category": bethesda_label(result.bethesda_category),
        "abnormal_probability": round(abnormal_probability(result.probabilities), 4),
        "reviewed_class": result.review.reviewed_class if hasattr(result, "review") else "",
    } for result in ranked]


def suggested_general_category(specimen):
    """NILM when no classified cell is in an abnormal morphology class (the reviewer's class
    where reviewed, else the model's), else epithelial cell abnormality; None when the AI
    classified nothing. A suggestion shown to the signer, never the interpretation."""
    abnormal = (Q(review__isnull=True, predicted_class__in=ABNORMAL_CLASSES)
                | Q(review__reviewed_class__in=ABNORMAL_CLASSES))
    counts = CellResult.objects.filter(
        image__specimen=specimen, status=CellResult.Status.DONE).aggregate(
        done=Count("pk"), abnormal=Count("pk", filter=abnormal))
    if not counts["done"]:
        return None
    return GeneralCategory.EPITHELIAL_ABNORMALITY if counts["abnormal"] else GeneralCategory.NILM
