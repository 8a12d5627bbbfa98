"""Which specimens a doctor should look at first: the specimen-level triage score."""
import numpy as np
from django.db.models import Case, Exists, FloatField, OuterRef, Q, Subquery, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from diagnostics.models import NILM_CATEGORY, CellResult, SpecimenReopening, SpecimenSignOff
from imaging.models import Specimen

ABNORMAL_CLASSES = ("Dyskeratotic", "Koilocytotic")
WORST_CELLS = 5
# ImageAsset.cut_from_field, as a condition on CellResult querysets.
RESULT_CUT_FROM_FIELD = Q(image__source_field__isnull=False)
TRIAGE_RULE = (
    f"Specimens are ranked by the mean abnormal probability of their {WORST_CELLS} most "
    f"suspicious classified cells (for cells found in fields of view and slides, the "
    f"probability of any Bethesda category but NILM; for cell images, of "
    f"{' or '.join(ABNORMAL_CLASSES)}). A higher score means look first."
)


def suspicious_cells(probabilities, classes, referred=None):
    """(flagged, suspicion) of cells from one model's ``probabilities``: flagged when its
    most probable class is abnormal (or, for the morphology model, when it refers the
    cell); suspicion is the summed probability of the abnormal classes.

    Slide crops are cut around detections, as CRIC's were: the Bethesda model, trained on
    such crops, ranks CRIC's abnormal cells out of fold with an AUC of 0.95, while the
    morphology model, trained on SIPaKMeD's isolated cells, refers 99% of them and ranks
    them at 0.53 (bench/README.md, "Which cells a slide keeps"). So a slide's cells are
    flagged and ranked by the Bethesda model where it answered (diagnostics.slide_cells,
    imaging.viewer_cells)."""
    classes = np.asarray(classes)
    abnormal = classes != NILM_CATEGORY if NILM_CATEGORY in classes else \
        np.isin(classes, list(ABNORMAL_CLASSES))
    flagged = abnormal[probabilities.argmax(axis=1)]
    if referred is not None:
        flagged = flagged | referred
    return flagged, probabilities[:, abnormal].sum(axis=1)


def abnormal_probability(probabilities):
    """Probability mass of the abnormal classes in one cell's class → probability map."""
    return sum(probabilities.get(name, 0.0) for name in ABNORMAL_CLASSES)


def cell_suspicion(probabilities, bethesda_probabilities=None, cut_from_field=False):
    """How suspicious one classified cell is, the measure behind the triage score and every
    "most suspicious first" order: for a cell the worker cut from a field of view or a
    slide, the Bethesda model's probability of any category but NILM (where it answered);
    else the morphology model's :func:`abnormal_probability`.

    Cells cut around detections are what the Bethesda model was trained on: on CRIC's 188
    fields as specimens, the triage score ranks those holding an abnormal cell with an AUC
    of 0.98 from the Bethesda model and 0.52 from the morphology model, which refers 99% of
    such cells. On isolated cells the morphology model ranks better (bench/README.md,
    "Which cells a slide keeps")."""
    if cut_from_field and bethesda_probabilities:
        return 1.0 - bethesda_probabilities.get(NILM_CATEGORY, 0.0)
    return abnormal_probability(probabilities)


def suspicion_of(result):
    """:func:`cell_suspicion` of a CellResult (its image loaded with it)."""
    return cell_suspicion(result.probabilities, result.bethesda_probabilities,
                          result.image.cut_from_field)


def triage_score(cell_probabilities):
    """The triage score of a specimen of cell images from their probability maps.

    The mean abnormal probability of the ``WORST_CELLS`` most abnormal cells (all of
    them when there are fewer); None when no cell is classified.
    """
    worst = sorted(map(abnormal_probability, cell_probabilities), reverse=True)[:WORST_CELLS]
    return mean_of_worst(worst)


def mean_of_worst(worst_abnormal_probabilities):
    worst = list(worst_abnormal_probabilities)
    return sum(worst) / len(worst) if worst else None


def abnormal_probability_column():
    """:func:`abnormal_probability` as the database computes it from the stored JSON."""
    terms = [_probability("probabilities", name) for name in ABNORMAL_CLASSES]
    return sum(terms[1:], terms[0])


def suspicion_column():
    """:func:`suspicion_of` as the database computes it, for CellResult querysets."""
    from_field = RESULT_CUT_FROM_FIELD & ~Q(bethesda_category="")
    return Case(When(from_field, then=Value(1.0) - _probability("bethesda_probabilities",
                                                                NILM_CATEGORY)),
                default=abnormal_probability_column(), output_field=FloatField())


def _probability(field, name):
    return Coalesce(Cast(KT(f"{field}__{name}"), FloatField()), Value(0.0))


def signed_since_reopened():
    """Sign-offs of the outer specimen newer than its last re-opening: one means it is closed."""
    reopened_up_to = (SpecimenReopening.objects.filter(specimen=OuterRef(OuterRef("pk")))
                      .order_by("-reopened_version").values("reopened_version")[:1])
    return SpecimenSignOff.objects.filter(
        specimen=OuterRef("pk"), version__gt=Coalesce(Subquery(reopened_up_to), Value(0)))


def update_triage_score(specimen):
    """Recompute and store the specimen's score from its finished results; return it."""
    # The database picks the worst cells: a slide of 2,000 cells is rescored after every
    # batch, and decoding all its probability maps in Python each time grew quadratically.
    worst = (CellResult.objects.filter(image__specimen=specimen, status=CellResult.Status.DONE)
             .annotate(abnormal=suspicion_column()).order_by("-abnormal")
             .values_list("abnormal", flat=True)[:WORST_CELLS])
    specimen.triage_score = mean_of_worst(worst)
    not_signed_off = ~Exists(signed_since_reopened())
    # Derived values: update() keeps them out of the specimen's audit trail. The sign-off
    # check runs in the same statement, so a sign-off saved meanwhile is not overwritten.
    Specimen.objects.filter(pk=specimen.pk).update(
        triage_score=specimen.triage_score,
        awaiting_sign_off=not_signed_off if specimen.triage_score is not None else Value(False))
    return specimen.triage_score


def update_triage_scores_of(results):
    """Recompute the score of every specimen these results belong to."""
    specimen_ids = {result.image.specimen_id for result in results}
    for specimen in Specimen.objects.filter(pk__in=specimen_ids):
        update_triage_score(specimen)
