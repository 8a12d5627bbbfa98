"""A doctor reviews a specimen's flagged cells and signs its Bethesda report.

Once a specimen is signed off it is closed: its reviews and sign-off are read-only and it
takes no new images, so a report never counts cells its signature did not see. A change of
mind is an amendment: a new sign-off version with a reason, the earlier versions kept. New
material needs the specimen re-opened first (with a reason); the next sign-off is then an
amendment giving that reason.
"""
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.people import display_name
from celinsight.compiled_queries import CompiledSlices
from diagnostics.bethesda import INTERPRETATION_CATEGORY
from diagnostics.bethesda_rules import consistency_errors
from diagnostics.cell_summary import CellSummary
from diagnostics.computer_assisted import computer_assisted_section
from diagnostics.models import CellResult, CellReview, SpecimenReopening, SpecimenSignOff
from diagnostics.report_text import patient_age, render_report_text, signer_credentials

Status = CellResult.Status
SIGN_OFF_PERMISSION = "diagnostics.sign_off_specimen"
# Cytotechnologists screen cells but do not sign off (the permission comes with their role).
SCREEN_PERMISSION = "cases.screen_case"


def may_review_cells(user):
    """Whether ``user`` may accept or override cells: doctors who sign off, and screeners."""
    return user.has_perm(SIGN_OFF_PERMISSION) or user.has_perm(SCREEN_PERMISSION)


class ReviewRefused(Exception):
    """The review or sign-off cannot be recorded; the message says why and what to do."""


class SpecimenClosed(ReviewRefused):
    """The specimen is signed off and not re-opened: it takes no new images or reviews."""


def classified_cells_flagged_first(specimen):
    """The specimen's classified cells as a doctor reviews them: flagged ones first, then in
    upload order, each with its image and any review."""
    return (
        CellResult.objects.filter(image__specimen=specimen, status=Status.DONE)
        .select_related("image", "review__reviewer")
        .order_by("-refer_to_cytologist", "image__uploaded_at", "pk")
    )


# The review page's pages of cells: its query took 2-3 ms to build and compile a request.
CELLS_FLAGGED_FIRST = CompiledSlices(classified_cells_flagged_first)


def flagged_results(specimen):
    return classified_cells_flagged_first(specimen).filter(refer_to_cytologist=True)


def current_sign_off(specimen):
    return specimen.sign_offs.newest_first().first()


def current_reopening(specimen, sign_off):
    """The re-opening of this sign-off version, or None."""
    if sign_off is None:
        return None
    return specimen.reopenings.filter(reopened_version=sign_off.version).first()


def closing_sign_off(specimen, sign_offs=None):
    """The sign-off that closes the specimen to new images and reviews; None while it is open
    (never signed off, or re-opened since its last sign-off). ``sign_offs``: the specimen's
    sign-offs newest first, where a page has read them already."""
    sign_off = current_sign_off(specimen) if sign_offs is None else next(iter(sign_offs), None)
    if sign_off is None or current_reopening(specimen, sign_off) is not None:
        return None
    return sign_off


def refuse_if_signed_off(specimen):
    sign_off = closing_sign_off(specimen)
    if sign_off is not None:
        raise SpecimenClosed(
            f"Specimen {specimen} is signed off (version {sign_off.version}, by "
            f"{display_name(sign_off.signed_by)} on {sign_off.signed_at:%Y-%m-%d %H:%M}): its "
            f"reviews are read-only and it takes no new images. To add images or reviews, a doctor who may "
            f"sign off must re-open it with a reason; to change only the interpretation, amend "
            f"the sign-off."
        )


def lock_specimen(specimen):
    """Hold the specimen's row until the transaction ends (PostgreSQL; SQLite locks the whole
    database on write), so an upload and a sign-off of the same specimen take turns."""
    type(specimen).objects.select_for_update().filter(pk=specimen.pk).exists()


def reopen_specimen(specimen, doctor, reason):
    """Open a signed-off specimen for new images and reviews; its next sign-off amends."""
    if not reason.strip():
        raise ReviewRefused("Re-opening needs a reason: say what new material is coming and why.")
    with transaction.atomic():
        lock_specimen(specimen)
        sign_off = current_sign_off(specimen)
        if sign_off is None:
            raise ReviewRefused(f"Specimen {specimen} is not signed off; it is open already.")
        if current_reopening(specimen, sign_off) is not None:
            raise ReviewRefused(f"Specimen {specimen} is re-opened already.")
        reopening = refuse_if_invalid(SpecimenReopening(
            specimen=specimen, reopened_version=sign_off.version, reopened_by=doctor,
            reason=reason.strip()))
        reopening.save(force_insert=True)
        # Back on its doctors' worklists until signed again (a derived flag, as in save()).
        type(specimen).objects.filter(pk=specimen.pk).update(awaiting_sign_off=True)
    return reopening


def review_cell(result, reviewer, reviewed_class, note=None):
    """Record the reviewer's class for a cell: the model's class accepted, or an override,
    with the reviewer's note (None keeps the note the cell has)."""
    if reviewed_class not in result.probabilities:
        raise ReviewRefused(f"{reviewed_class!r} is not one of the model's classes.")
    refuse_if_signed_off(result.image.specimen)
    fields = {"reviewer": reviewer, "reviewed_class": reviewed_class,
              "accepted": reviewed_class == result.predicted_class, "reviewed_at": timezone.now()}
    if note is not None:
        fields["note"] = refuse_if_invalid(CellReview(note=note.strip())).note
    review, _ = CellReview.objects.update_or_create(result=result, defaults=fields)
    return review


def unreviewed_flagged_results(specimen):
    return flagged_results(specimen).filter(review__isnull=True)


def accept_all_flagged(specimen, reviewer):
    """Accept the model's class of every flagged cell of the specimen nobody has reviewed
    yet, in one go; return the reviews. Each gets the audit entry a single review gets,
    naming the reviewer (bulk_create sends no signals, so the entries are written here)."""
    with transaction.atomic():
        lock_specimen(specimen)
        refuse_if_signed_off(specimen)
        now = timezone.now()
        reviews = [CellReview(result=result, reviewer=reviewer, accepted=True, reviewed_at=now,
                              reviewed_class=result.predicted_class)
                   for result in unreviewed_flagged_results(specimen)]
        try:
            with transaction.atomic():
                CellReview.objects.bulk_create(reviews)
        except IntegrityError:  # a cell was reviewed by someone else a moment ago
            raise ReviewRefused("Some of these cells were reviewed by someone else just now; "
                                "reload the page and accept the rest.") from None
        for cell_review in reviews:
            log_review_created(cell_review, reviewer)
    return reviews


def log_review_created(cell_review, reviewer):
    """The creation entry django-auditlog writes when a review is saved on its own."""
    changes = model_instance_diff(None, cell_review,
                                  use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES)
    LogEntry.objects.log_create(cell_review, action=LogEntry.Action.CREATE, changes=changes,
                                actor=reviewer)


def review_counts(specimen, summary=None):
    """The specimen's cells still being classified (``pending``) and its flagged cells nobody
    has reviewed yet (``unreviewed_flagged``), from its CellSummary (one query)."""
    summary = summary or CellSummary.of(specimen)
    return {"pending": summary.pending_count,
            "unreviewed_flagged": summary.unreviewed_flagged_count}


def sign_off_blockers(specimen, counts=None):
    """Why the specimen cannot be signed off yet; empty when it can. ``counts``: its
    review_counts, where the caller has them."""
    counts = counts or review_counts(specimen)
    blockers = []
    pending = counts["pending"]
    if pending:
        blockers.append(f"{pending} image(s) are still being classified; wait until they finish.")
    unreviewed = counts["unreviewed_flagged"]
    if unreviewed:
        blockers.append(
            f"{unreviewed} cell(s) flagged “refer to cytologist” are not reviewed yet: "
            f"accept or override each one, then sign off."
        )
    return blockers


def refuse_if_invalid(record):
    """Model validation (free-text lengths, choices) for callers that skip the forms."""
    try:
        record.clean_fields(exclude=["specimen", "signed_by", "reopened_by", "result", "reviewer",
                                     "reviewed_class", "accepted"])
    except ValidationError as error:
        raise ReviewRefused(" ".join(
            f"{name.replace('_', ' ').capitalize()}: {' '.join(messages)}"
            for name, messages in error.message_dict.items())) from None
    return record


def create_sign_off(specimen, signer, version, **report_fields):
    """Sign report version `version`: the signer's Bethesda fields, checked for consistency,
    with the computer-assisted section, codes and exact text frozen as they are now."""
    report = refuse_if_invalid(
        SpecimenSignOff(specimen=specimen, version=version, signed_by=signer, **report_fields))
    refuse_if_inconsistent(report, specimen)
    report.general_category = report.general_category or INTERPRETATION_CATEGORY.get(
        report.interpretation, "")
    for name, value in computer_assisted_section(specimen).items():
        setattr(report, name, value)
    report.signer_credentials = signer_credentials(signer)
    report.signed_at = timezone.now()
    report.codes = report.coded_values()
    report.report_text = render_report_text(report)
    try:
        with transaction.atomic():
            report.save(force_insert=True)
            return report
    except IntegrityError:  # another doctor signed the same version a moment ago
        raise ReviewRefused(
            f"Specimen {specimen} was signed off by someone else just now; reload the page "
            f"and amend if you disagree."
        ) from None


def refuse_if_inconsistent(report, specimen):
    """The Bethesda rules, for callers that skip the forms (the forms show each error next to
    its field)."""
    if not report.adequacy:
        raise ReviewRefused("A report states the specimen's adequacy: satisfactory or "
                            "unsatisfactory for evaluation.")
    errors = consistency_errors(report.bethesda_values(), age=patient_age(specimen))
    if errors:
        raise ReviewRefused(" ".join(errors.values()))


def refuse_if_blocked(specimen):
    blockers = sign_off_blockers(specimen)
    if blockers:
        raise ReviewRefused(" ".join(blockers))


def sign_off_specimen(specimen, signer, **report_fields):
    """Sign the report of a specimen whose flagged cells are all reviewed: version 1, or, for
    a re-opened specimen, an amendment giving the re-opening's reason. `report_fields` are
    SpecimenSignOff's Bethesda fields (adequacy, interpretation, ...), comment and notes."""
    with transaction.atomic():
        lock_specimen(specimen)  # no upload slips in between the checks and the signature
        refuse_if_signed_off(specimen)
        refuse_if_blocked(specimen)
        previous = current_sign_off(specimen)
        if previous is None:
            return create_sign_off(specimen, signer, 1, **report_fields)
        reopening = current_reopening(specimen, previous)
        return create_sign_off(specimen, signer, previous.version + 1,
                               **{**report_fields, "amendment_reason": reopening.reason})


def amend_sign_off(specimen, signer, amendment_reason, **report_fields):
    """Add report version N+1; version N and earlier stay as they were, text included. A
    re-opened specimen's new cells must be reviewed first, as for a sign-off."""
    if not amendment_reason.strip():
        raise ReviewRefused("An amendment needs a reason: say why the interpretation changes.")
    with transaction.atomic():
        lock_specimen(specimen)
        previous = current_sign_off(specimen)
        if previous is None:
            raise ReviewRefused(f"Specimen {specimen} is not signed off yet; sign it off instead.")
        if current_reopening(specimen, previous) is not None:
            refuse_if_blocked(specimen)
        return create_sign_off(specimen, signer, previous.version + 1,
                               amendment_reason=amendment_reason.strip(), **report_fields)
