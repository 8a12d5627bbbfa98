from functools import partial, wraps

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import CASE_AND_REQUISITION, get_specimen_for_user
from accounts.audit import log_patient_list_read, log_patient_read
from celinsight.pagination import CountedPaginator, IndexOrderPaginator, page_or_404
from diagnostics import review
from diagnostics.cell_summary import CellSummary
from diagnostics.computer_assisted import computer_assisted_section
from diagnostics.forms import AmendmentForm, CellReviewForm, ReopeningForm, SignOffForm
from diagnostics.models import FREE_TEXT_MAX_LENGTH, CellResult, class_names, sign_offs_of
from diagnostics.triage import TRIAGE_RULE
from diagnostics.worklists import (
    awaiting_review, batches_of, with_cell_counts,
)

ROWS_PER_PAGE = 25
CELLS_PER_REVIEW_PAGE = 50
SIGN_OFF = review.SIGN_OFF_PERMISSION


@permission_required(SIGN_OFF, raise_exception=True)
def worklist(request):
    page = page_or_404(request, awaiting_review(request.user), ROWS_PER_PAGE, IndexOrderPaginator)
    page.object_list = with_cell_counts(page.object_list)
    log_patient_list_read(request, page.object_list)
    return render(request, "diagnostics/worklist.html", {"page": page, "triage_rule": TRIAGE_RULE})


@permission_required("imaging.add_imageasset", raise_exception=True)
def batch_list(request):
    page = page_or_404(request, batches_of(request.user), ROWS_PER_PAGE)
    return render(request, "diagnostics/batches.html", {"page": page})


@permission_required("imaging.add_imageasset", raise_exception=True)
def batch_progress(request, batch_id):
    batch = get_object_or_404(batches_of(request.user), pk=batch_id)
    return render(request, "diagnostics/_batch_row.html", {"batch": batch})


def cell_reviewer_required(view):
    """403 unless the user may review cells (review.may_review_cells): doctors, screeners."""
    @wraps(view)
    def checked(request, *args, **kwargs):
        if not review.may_review_cells(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return checked


def from_htmx(request):
    return request.headers.get("HX-Request") == "true"


@cell_reviewer_required
def specimen_review(request, specimen_id):
    specimen = get_specimen_for_user(request.user, specimen_id, CASE_AND_REQUISITION)
    log_patient_read(request, specimen)
    return render(request, "diagnostics/review.html", review_context(request, specimen))


def review_context(request, specimen, sign_off_form=None):
    """The review page's context; `sign_off_form` is a bound report form with its errors."""
    sign_offs = sign_offs_of(specimen)
    sign_off = review.closing_sign_off(specimen, sign_offs)  # None while open, re-opened too
    summary = CellSummary.of(specimen)
    if sign_off_form is None and sign_off:  # an amendment starts from the signed version
        sign_off_form = AmendmentForm(specimen=specimen, cell_summary=summary,
                                      initial=amendable_values(sign_off))
    findings = screener_findings(specimen)
    counts = review.review_counts(specimen, summary)
    if sign_off_form is None:  # a first sign-off starts from the screener and the requisition
        sign_off_form = SignOffForm(specimen=specimen, cell_summary=summary,
                                    initial=case_values(specimen, findings))
    return {
        "specimen": specimen,
        "sign_off": sign_off,
        "sign_offs": sign_offs,
        **cell_list_context(specimen, sign_off, page_or_404(
            request, review.CELLS_FLAGGED_FIRST.of(specimen.pk), CELLS_PER_REVIEW_PAGE,
            partial(CountedPaginator, count=summary.done_count)),
            counts["unreviewed_flagged"]),
        "blockers": [] if sign_off else review.sign_off_blockers(specimen, counts),
        "sign_off_form": sign_off_form,
        "screener_findings": findings,
        "ai_section": computer_assisted_section(specimen, summary),
        "reopen_form": ReopeningForm(),
        "reopening": None if sign_off else review.current_reopening(
            specimen, next(iter(sign_offs), None)),
        "may_sign_off": request.user.has_perm(SIGN_OFF),
    }


def related_or_none(obj, name):
    """The one-to-one ``name`` of obj, or None (read through the relation, so diagnostics does
    not import the cases app)."""
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


def screener_findings(specimen):
    """The cytotechnologist's findings on the specimen's case, or None (no case, not screened)."""
    case = related_or_none(specimen, "case")
    return related_or_none(case, "findings") if case is not None else None


def case_values(specimen, findings):
    """Where the pathologist's report starts: the screener's recorded findings, then the
    requisition's specimen type and HPV result. Initial values only: the signer decides."""
    recorded = findings.bethesda_values() if findings is not None else {}
    values = {name: value for name, value in recorded.items() if value}
    requisition = related_or_none(specimen, "requisition")
    if requisition is not None:
        values |= {"specimen_type": requisition.specimen_type,
                   "hpv_result": requisition.hpv_result}
    return values


def amendable_values(sign_off):
    """The signed version's report fields, the starting point of an amendment."""
    return {name: getattr(sign_off, name) for name in AmendmentForm.Meta.fields
            if name not in ("amendment_reason", "comment")}


def cell_list_context(specimen, sign_off, page, flagged_to_review=None):
    """A page of the specimen's cells with their review forms, as _cell_list.html shows them;
    ``flagged_to_review``: the count of its unreviewed flagged cells, where known."""
    cells = [(result, CellReviewForm(result)) for result in page]
    return {"specimen": specimen, "sign_off": sign_off, "page": page, "page_number": page.number,
            "cells": cells,
            "class_keys": class_names(result.probabilities for result, _ in cells)[:9],
            "flagged_to_review": review.unreviewed_flagged_results(specimen).count()
            if flagged_to_review is None else flagged_to_review}


@require_POST
@cell_reviewer_required
def review_cell(request, specimen_id, result_id):
    """Accept (the "accept" button) or set a cell's class, with the reviewer's note. From
    htmx, the answer is the cell's row, re-drawn; without JavaScript, back to the page."""
    specimen = get_specimen_for_user(request.user, specimen_id)
    result = get_object_or_404(
        CellResult.objects.select_related("image__specimen"),
        pk=result_id, image__specimen=specimen, status=CellResult.Status.DONE,
    )
    data = request.POST.copy()
    if data.get("action") == "accept":
        data["reviewed_class"] = result.predicted_class
    outcome = record_cell_review(request, result, CellReviewForm(result, data))
    if from_htmx(request):
        return cell_row(request, specimen, result.pk, outcome)
    messages.add_message(request, messages.ERROR if outcome["level"] == "error"
                         else messages.SUCCESS, outcome["text"])
    return review_page(specimen, request.POST.get("page"))


def record_cell_review(request, result, form):
    """Record the form's review; the outcome as the reviewer should read it."""
    if not form.is_valid():
        problem = ("choose one of the model's classes" if "reviewed_class" in form.errors
                   else f"keep the note under {FREE_TEXT_MAX_LENGTH} characters")
        return {"level": "error", "text": f"{result.image}: {problem}."}
    try:
        cell_review = review.review_cell(result, request.user, form.cleaned_data["reviewed_class"],
                                         note=form.note_or_none())
    except review.ReviewRefused as refusal:
        return {"level": "error", "text": str(refusal)}
    verdict = "accepted" if cell_review.accepted else f"overridden to {cell_review.reviewed_class}"
    return {"level": "success", "text": f"{result.image}: {verdict}."}


def cell_row(request, specimen, result_id, outcome):
    """The cell's review row and the count of flagged cells left (out of band); when that
    count reaches 0 the page's sign-off form is fetched again (signOffChanged)."""
    result = CellResult.objects.select_related("image", "review__reviewer").get(pk=result_id)
    sign_off = review.closing_sign_off(specimen)
    left = review.unreviewed_flagged_results(specimen).count()
    response = render(request, "diagnostics/_cell_row_response.html", {
        "specimen": specimen, "result": result, "form": CellReviewForm(result),
        "outcome": outcome, "sign_off": sign_off, "flagged_to_review": left,
        "page_number": request.POST.get("page", "")})
    if left == 0 and outcome["level"] == "success":
        response["HX-Trigger-After-Settle"] = "signOffChanged"
    return response


@cell_reviewer_required
def accept_all_flagged(request, specimen_id):
    """GET: the confirmation (how many cells); POST: accept them all as predicted."""
    specimen = get_specimen_for_user(request.user, specimen_id)
    log_patient_read(request, specimen)
    page_number = request.POST.get("page") or request.GET.get("page")
    if request.method != "POST":
        count = review.unreviewed_flagged_results(specimen).count()
        return render(request, "diagnostics/accept_all_flagged.html",
                      {"specimen": specimen, "count": count, "page_number": page_number})
    try:
        accepted = review.accept_all_flagged(specimen, request.user)
    except review.ReviewRefused as refusal:
        outcome = {"level": "error", "text": str(refusal)}
    else:
        outcome = {"level": "success", "text": f"{len(accepted)} flagged cell"
                                               f"{'' if len(accepted) == 1 else 's'} accepted "
                                               f"as predicted."}
    if not from_htmx(request):
        messages.add_message(request, messages.ERROR if outcome["level"] == "error"
                             else messages.SUCCESS, outcome["text"])
        return review_page(specimen, page_number)
    sign_off = review.closing_sign_off(specimen)
    response = render(request, "diagnostics/_cell_list.html", {
        **cell_list_context(specimen, sign_off, Paginator(
            review.classified_cells_flagged_first(specimen), CELLS_PER_REVIEW_PAGE
        ).get_page(page_number)),
        "outcome": outcome})
    if outcome["level"] == "success":
        response["HX-Trigger-After-Settle"] = "signOffChanged"
    return response


def review_page(specimen, page_number):
    """Back to the page of cells the doctor was reviewing."""
    url = reverse("diagnostics:review", args=[specimen.pk])
    # isdecimal() alone lets "١" (Arabic-Indic one) through; the page link must be ASCII.
    is_number = str(page_number).isascii() and str(page_number).isdecimal()
    return redirect(f"{url}?page={int(page_number)}" if is_number else url)


@require_POST
@permission_required(SIGN_OFF, raise_exception=True)
def sign_off(request, specimen_id):
    return record_sign_off(
        request, specimen_id, SignOffForm, review.sign_off_specimen,
        invalid="The report is not signed: correct the fields marked below.",
        done=lambda signed: f"signed off: {signed.headline()}.")


@require_POST
@permission_required(SIGN_OFF, raise_exception=True)
def amend(request, specimen_id):
    return record_sign_off(
        request, specimen_id, AmendmentForm, review.amend_sign_off,
        invalid="The amendment is not signed: correct the fields marked below (an amendment needs a reason).",
        done=lambda amended: (f"amended: version {amended.version}, "
                              f"{amended.headline()}."))


def record_sign_off(request, specimen_id, form_class, record, invalid, done):
    """Validate the report form, record the sign-off (or amendment) and report the outcome;
    an invalid form comes back on the review page with each error next to its field."""
    specimen = get_specimen_for_user(request.user, specimen_id)
    form = form_class(request.POST, specimen=specimen)
    if not form.is_valid():
        messages.error(request, invalid)
        context = review_context(request, specimen, sign_off_form=form)
        return render(request, "diagnostics/review.html", context, status=400)
    try:
        signed = record(specimen, request.user, **form.cleaned_data)
    except review.ReviewRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("diagnostics:review", specimen.pk)
    messages.success(request, f"Specimen {specimen} {done(signed)}")
    return redirect(specimen)


@require_POST
@permission_required(SIGN_OFF, raise_exception=True)
def reopen(request, specimen_id):
    """Open a signed-off specimen for new images and reviews; the next sign-off amends it."""
    specimen = get_specimen_for_user(request.user, specimen_id)
    form = ReopeningForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Re-opening needs a reason: say what new material is coming "
                                "and why. " + " ".join(form.errors.get("reason", [])))
        return redirect("diagnostics:review", specimen.pk)
    try:
        review.reopen_specimen(specimen, request.user, form.cleaned_data["reason"])
    except review.ReviewRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Specimen {specimen} re-opened: it takes new images and "
                                  f"reviews; its next sign-off is an amendment.")
    return redirect("diagnostics:review", specimen.pk)
