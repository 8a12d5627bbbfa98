"""The work waiting for each role: doctors' specimens to review, lab staff's upload batches.

Each list is one annotated query, however many rows it has.
"""
from django.db.models import Count, Exists, F, OuterRef, Q

from accounts.access import patients_visible_to
from diagnostics.models import CellResult, SpecimenSignOff
from imaging.models import Specimen, UploadBatch

Status = CellResult.Status


def awaiting_review(user):
    """Specimens of the user's patients with classified cells and no sign-off, worst first."""
    signed_off = SpecimenSignOff.objects.filter(specimen=OuterRef("pk"))
    return (
        Specimen.objects.filter(patient__in=patients_visible_to(user))
        .filter(images__results__status=Status.DONE)  # the counts below reuse this join
        .filter(~Exists(signed_off))
        .select_related("patient")
        .annotate(
            cell_count=Count("images__results"),
            flagged_count=Count("images__results", filter=Q(images__results__refer_to_cytologist=True)),
        )
        .order_by(F("triage_score").desc(nulls_last=True), "collected_on", "pk")
    )


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
