"""The work waiting for each role: doctors' specimens to review, lab staff's upload batches.

Each list is a fixed number of queries, however many rows it has.
"""
from django.db.models import Count, Q

from accounts.access import patients_visible_to, specimens_worked_on_by
from celinsight.compiled_queries import ForKeys
from diagnostics.models import CellResult
from imaging.models import UploadBatch, triage_order

Status = CellResult.Status
SCREENING_STAGES = ["awaiting_screening", "in_screening"]


def awaiting_review(user):
    """Specimens with classified cells and no sign-off, worst first, that the user works on
    (accounts.access.specimens_worked_on_by): those without a case, and cases sent on to a
    pathologist (not those still in screening).

    Count the cells of the page shown with ``with_cell_counts``: counting them here, for
    every specimen before sorting, made the worklist the slowest page (150 ms of SQL with
    200,000 images, and far more for later pages). Which specimens await a sign-off is
    stored on them (``awaiting_sign_off``): checking every specimen's cells and sign-offs
    was most of the remaining query (about 12 of 16 ms).
    """
    return (
        specimens_worked_on_by(user).filter(awaiting_sign_off=True)
        # A case still with the screeners is not a pathologist's yet (cases.models.Case.Stage;
        # named by value: importing cases here would be an import cycle).
        .exclude(case__stage__in=SCREENING_STAGES)
        # Joined in the page's rows only (rows_by_key): the keys' and the count's queries
        # leave select_related out; joined there, every patient would be read to sort the list.
        .select_related("patient")
        .order_by(triage_order("triage_score"), "collected_on", "pk")
    )


def with_cell_counts(specimens):
    """The specimens as a list, each with ``cell_count`` (classified cells) and
    ``flagged_count`` (of those, referred to a cytologist), counted in one query."""
    specimens = list(specimens)
    counts = CELL_COUNTS.rows([specimen.pk for specimen in specimens]) if specimens else []
    by_specimen = {key: (cells, flagged) for key, cells, flagged in counts}
    for specimen in specimens:
        specimen.cell_count, specimen.flagged_count = by_specimen.get(specimen.pk, (0, 0))
    return specimens


CELL_COUNTS = ForKeys(lambda keys: (
    CellResult.objects.filter(image__specimen__in=keys, status=Status.DONE)
    .order_by()
    .values_list("image__specimen")
    .annotate(cells=Count("pk"), flagged=Count("pk", filter=Q(refer_to_cytologist=True)))))


def batches_of(user):
    """The user's own upload batches, newest first, with their results counted by status."""
    def results(*statuses):
        return Count("images__results", filter=Q(images__results__status__in=statuses))

    return (
        UploadBatch.objects.filter(
            uploaded_by=user, specimen__patient__in=patients_visible_to(user)
        )
        .select_related("specimen")
        .annotate(
            done_count=results(Status.DONE),
            failed_count=results(Status.FAILED),
            pending_count=results(Status.QUEUED, Status.RUNNING),
            finished_count=results(Status.DONE, Status.FAILED),
            result_count=Count("images__results"),
        )
        .order_by("-created_at", "-pk")
    )
