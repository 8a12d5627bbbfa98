"""Adequacy help: how many squamous cells the worker found in a specimen's fields of view,
beside the Bethesda 2014 minimum cellularity of a satisfactory specimen.

The minimums (well-preserved, well-visualised squamous cells on the whole slide) are for a
slide estimated as a whole; fields of view are a sample of it, so the count is shown as help
for the screener, never as the adequacy itself, which the screener records.
"""
from diagnostics.bethesda import SpecimenType
from diagnostics.models import CellResult

# Bethesda 2014: at least 5,000 squamous cells on a liquid-based preparation, 8,000-12,000 on
# a conventional smear (8,000 the minimum).
MINIMUM_SQUAMOUS_CELLS = {
    SpecimenType.LIQUID_BASED: 5000,
    SpecimenType.CONVENTIONAL: 8000,
}
# Every class of the SIPaKMeD models is a squamous epithelial cell (superficial-intermediate,
# parabasal, metaplastic, koilocytotic, dyskeratotic); a model with other classes (glandular,
# leukocytes, "not a cell") has only these counted.
SQUAMOUS_CLASSES = ("Superficial-Intermediate", "Parabasal", "Metaplastic", "Koilocytotic",
                    "Dyskeratotic")


def squamous_cells_in_fields(specimen):
    """Classified cells cut from the specimen's fields of view whose predicted class is a
    squamous cell: one query."""
    return CellResult.objects.filter(
        image__specimen=specimen, image__source_field__isnull=False,
        status=CellResult.Status.DONE, predicted_class__in=SQUAMOUS_CLASSES).count()


def adequacy_help(specimen, specimen_type):
    """What the specimen page shows beside the count: the count, the minimum for the
    requisition's specimen type (None when no requisition says), and both minimums."""
    minimum = MINIMUM_SQUAMOUS_CELLS.get(specimen_type)
    count = squamous_cells_in_fields(specimen)
    return {
        "squamous_cells": count,
        "specimen_type": SpecimenType(specimen_type).label if minimum else None,
        "minimum": minimum,
        "percent_of_minimum": round(100 * count / minimum, 1) if minimum else None,
        "liquid_based_minimum": MINIMUM_SQUAMOUS_CELLS[SpecimenType.LIQUID_BASED],
        "conventional_minimum": MINIMUM_SQUAMOUS_CELLS[SpecimenType.CONVENTIONAL],
    }
