"""The work waiting for each role: doctors' specimens to review, lab staff's upload batches.

Each list is a fixed number of queries, however many rows it has.
"""
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, F, Q, Window

from accounts.access import patients_visible_to
from diagnostics.models import CellResult
from imaging.models import Specimen, UploadBatch

Status = CellResult.Status
SCREENING_STAGES = ["awaiting_screening", "in_screening"]
MAX_OFFSET = 2**62  # SQLite and PostgreSQL take a signed 64-bit OFFSET + LIMIT


def awaiting_review(user):
    """Specimens of the user's patients with classified cells and no sign-off, worst first:
    those without a case, and cases sent on to a pathologist (not those still in screening).

    Count the cells of the page shown with ``with_cell_counts``: counting them here, for
    every specimen before sorting, made the worklist the slowest page (150 ms of SQL with
    200,000 images, and far more for later pages). Which specimens await a sign-off is
    stored on them (``awaiting_sign_off``): checking every specimen's cells and sign-offs
    was most of the remaining query (about 12 of 16 ms).
    """
    return (
        Specimen.objects.filter(patient__in=patients_visible_to(user), awaiting_sign_off=True)
        # A case still with the screeners is not a pathologist's yet (cases.models.Case.Stage;
        # named by value: importing cases here would be an import cycle).
        .exclude(case__stage__in=SCREENING_STAGES)
        # Fetched for the page only: joined, every patient would be read to sort the list.
        .prefetch_related("patient")
        .order_by(F("triage_score").desc(nulls_last=True), "collected_on", "pk")
    )


def with_cell_counts(specimens):
    """The specimens as a list, each with ``cell_count`` (classified cells) and
    ``flagged_count`` (of those, referred to a cytologist), counted in one query."""
    specimens = list(specimens)
    counts = (
        CellResult.objects.filter(image__specimen__in=specimens, status=Status.DONE)
        .order_by()
        .values("image__specimen")
        .annotate(cells=Count("pk"), flagged=Count("pk", filter=Q(refer_to_cytologist=True)))
    )
    by_specimen = {row["image__specimen"]: row for row in counts}
    for specimen in specimens:
        row = by_specimen.get(specimen.pk, {})
        specimen.cell_count = row.get("cells", 0)
        specimen.flagged_count = row.get("flagged", 0)
    return specimens


class CountingPaginator(Paginator):
    """Counts the rows in the query that fetches the page (COUNT(*) OVER ()) rather than in a
    query of its own: for the worklist, counting costs as much as fetching the page. A page
    number past the rows falls back to Paginator (a count, then EmptyPage); a number too large
    for the database's OFFSET (4611686018427387904 overflowed SQLite) never reaches it."""

    def page(self, number):
        number = self.checked(number)
        bottom = (number - 1) * self.per_page
        rows = list(
            self.object_list.annotate(row_count=Window(Count("pk")))[bottom:bottom + self.per_page])
        if not rows:
            return super().page(number)
        self.count = rows[0].row_count
        return self._get_page(rows, number, self)

    def checked(self, number):
        """A whole number from 1 to the largest page an OFFSET can reach, else InvalidPage."""
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1 or (number - 1) * self.per_page > MAX_OFFSET:
            raise EmptyPage("That page contains no results")
        return number


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
