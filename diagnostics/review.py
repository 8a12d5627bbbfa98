"""A doctor reviews a specimen's flagged cells and signs off its interpretation.

Once a specimen is signed off its reviews and sign-off are read-only; a change of mind
is an amendment: a new sign-off version with a reason, the earlier versions kept.
"""
from django.db import IntegrityError, transaction
from django.utils import timezone

from diagnostics.models import CellResult, CellReview, SpecimenSignOff

Status = CellResult.Status
SIGN_OFF_PERMISSION = "diagnostics.sign_off_specimen"


class ReviewRefused(Exception):
    """The review or sign-off cannot be recorded; the message says why and what to do."""


def classified_cells_flagged_first(specimen):
    """The specimen's classified cells as a doctor reviews them: flagged ones first, then in
    upload order, each with its image and any review."""
    return (
        CellResult.objects.filter(image__specimen=specimen, status=Status.DONE)
        .select_related("image", "review__reviewer")
        .order_by("-refer_to_cytologist", "image__uploaded_at", "pk")
    )


def flagged_results(specimen):
    return classified_cells_flagged_first(specimen).filter(refer_to_cytologist=True)


def current_sign_off(specimen):
    return specimen.sign_offs.newest_first().first()


def refuse_if_signed_off(specimen):
    sign_off = current_sign_off(specimen)
    if sign_off is not None:
        raise ReviewRefused(
            f"Specimen {specimen} was signed off by {sign_off.signed_by} on "
            f"{sign_off.signed_at:%Y-%m-%d %H:%M}; its reviews are read-only. "
            f"To change the interpretation, amend the sign-off with a reason."
        )


def review_cell(result, reviewer, reviewed_class):
    """Record the reviewer's class for a cell: the model's class accepted, or an override."""
    if reviewed_class not in result.probabilities:
        raise ReviewRefused(f"{reviewed_class!r} is not one of the model's classes.")
    refuse_if_signed_off(result.image.specimen)
    review, _ = CellReview.objects.update_or_create(
        result=result,
        defaults={
            "reviewer": reviewer,
            "reviewed_class": reviewed_class,
            "accepted": reviewed_class == result.predicted_class,
            "reviewed_at": timezone.now(),
        },
    )
    return review


def sign_off_blockers(specimen):
    """Why the specimen cannot be signed off yet; empty when it can."""
    results = CellResult.objects.filter(image__specimen=specimen)
    blockers = []
    pending = results.filter(status__in=[Status.QUEUED, Status.RUNNING]).count()
    if pending:
        blockers.append(f"{pending} image(s) are still being classified; wait until they finish.")
    unreviewed = results.filter(
        status=Status.DONE, refer_to_cytologist=True, review__isnull=True
    ).count()
    if unreviewed:
        blockers.append(
            f"{unreviewed} cell(s) flagged “refer to cytologist” are not reviewed yet: "
            f"accept or override each one, then sign off."
        )
    return blockers


def create_sign_off(specimen, doctor, version, **fields):
    try:
        with transaction.atomic():
            return SpecimenSignOff.objects.create(
                specimen=specimen, version=version, signed_by=doctor, **fields
            )
    except IntegrityError:  # another doctor signed the same version a moment ago
        raise ReviewRefused(
            f"Specimen {specimen} was signed off by someone else just now; reload the page "
            f"and amend if you disagree."
        ) from None


def sign_off_specimen(specimen, doctor, interpretation, comment=""):
    """Record the first sign-off of a specimen whose flagged cells are all reviewed."""
    refuse_if_signed_off(specimen)
    blockers = sign_off_blockers(specimen)
    if blockers:
        raise ReviewRefused(" ".join(blockers))
    return create_sign_off(specimen, doctor, 1, interpretation=interpretation, comment=comment)


def amend_sign_off(specimen, doctor, interpretation, amendment_reason, comment=""):
    """Add sign-off version N+1; version N and earlier stay as they were."""
    previous = current_sign_off(specimen)
    if previous is None:
        raise ReviewRefused(f"Specimen {specimen} is not signed off yet; sign it off instead.")
    if not amendment_reason.strip():
        raise ReviewRefused("An amendment needs a reason: say why the interpretation changes.")
    return create_sign_off(
        specimen, doctor, previous.version + 1, interpretation=interpretation,
        comment=comment, amendment_reason=amendment_reason.strip(),
    )
