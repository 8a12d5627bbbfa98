from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import get_specimen_for_user
from accounts.audit import log_patient_read
from celinsight.pagination import page_or_404
from diagnostics import review
from diagnostics.computer_assisted import computer_assisted_section
from diagnostics.forms import AmendmentForm, CellReviewForm, ReopeningForm, SignOffForm
from diagnostics.models import CellResult
from diagnostics.triage import TRIAGE_RULE
from diagnostics.worklists import (
    CountingPaginator, awaiting_review, batches_of, with_cell_counts,
)

ROWS_PER_PAGE = 25
CELLS_PER_REVIEW_PAGE = 50
SIGN_OFF = review.SIGN_OFF_PERMISSION


@permission_required(SIGN_OFF, raise_exception=True)
def worklist(request):
    page = page_or_404(request, awaiting_review(request.user), ROWS_PER_PAGE, CountingPaginator)
    page.object_list = with_cell_counts(page.object_list)
    return render(request, "diagnostics/worklist.html", {"page": page, "triage_rule": TRIAGE_RULE})


@permission_required("imaging.add_imageasset", raise_exception=True)
def batch_list(request):
    page = page_or_404(request, batches_of(request.user), ROWS_PER_PAGE)
    return render(request, "diagnostics/batches.html", {"page": page})


@permission_required("imaging.add_imageasset", raise_exception=True)
def batch_progress(request, batch_id):
    batch = get_object_or_404(batches_of(request.user), pk=batch_id)
    return render(request, "diagnostics/_batch_row.html", {"batch": batch})


@permission_required(SIGN_OFF, raise_exception=True)
def specimen_review(request, specimen_id):
    specimen = get_specimen_for_user(request.user, specimen_id)
    log_patient_read(request, specimen)
    return render(request, "diagnostics/review.html", review_context(request, specimen))


def review_context(request, specimen, sign_off_form=None):
    """The review page's context; `sign_off_form` is a bound report form with its errors."""
    sign_off = review.closing_sign_off(specimen)  # None while open, re-opened included
    classified = review.classified_cells_flagged_first(specimen)
    page = page_or_404(request, classified, CELLS_PER_REVIEW_PAGE)
    if sign_off_form is None and sign_off:  # an amendment starts from the signed version
        sign_off_form = AmendmentForm(specimen=specimen, initial=amendable_values(sign_off))
    return {
        "specimen": specimen,
        "sign_off": sign_off,
        "sign_offs": specimen.sign_offs.newest_first(),
        "page": page,
        "cells": [(result, CellReviewForm(result)) for result in page],
        "blockers": [] if sign_off else review.sign_off_blockers(specimen),
        "sign_off_form": sign_off_form or SignOffForm(specimen=specimen),
        "ai_section": computer_assisted_section(specimen),
        "reopen_form": ReopeningForm(),
        "reopening": None if sign_off else review.current_reopening(
            specimen, review.current_sign_off(specimen)),
    }


def amendable_values(sign_off):
    """The signed version's report fields, the starting point of an amendment."""
    return {name: getattr(sign_off, name) for name in AmendmentForm.Meta.fields
            if name not in ("amendment_reason", "comment")}


@require_POST
@permission_required(SIGN_OFF, raise_exception=True)
def review_cell(request, specimen_id, result_id):
    specimen = get_specimen_for_user(request.user, specimen_id)
    result = get_object_or_404(
        CellResult.objects.select_related("image__specimen"),
        pk=result_id, image__specimen=specimen, status=CellResult.Status.DONE,
    )
    form = CellReviewForm(result, request.POST)
    if not form.is_valid():
        messages.error(request, f"{result.image}: choose one of the model's classes.")
        return review_page(specimen, request.POST.get("page"))
    try:
        cell_review = review.review_cell(result, request.user, form.cleaned_data["reviewed_class"])
    except review.ReviewRefused as refusal:
        messages.error(request, str(refusal))
    else:
        verdict = "accepted" if cell_review.accepted else f"overridden to {cell_review.reviewed_class}"
        messages.success(request, f"{result.image}: {verdict}.")
    return review_page(specimen, request.POST.get("page"))


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
