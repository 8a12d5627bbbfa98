from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import (get_case_for_user, get_image_for_user, get_patient_for_user,
                             get_specimen_for_user, share_patient_with)
from accounts.audit import log_patient_list_read, log_patient_read
from cases import queue
from cases.corrections import CORRECTABLE, correct_fields, delete_upload
from cases.forms import AssignForm, ReasonForm, ScreeningForm, correction_form
from cases.models import ScreeningFindings
from cases.routing import RELEASE, ai_flagged_abnormal, finish_screening, route
from diagnostics.bethesda import Adequacy, Interpretation
from celinsight.pagination import IndexOrderPaginator, page_or_404
from diagnostics.review import ReviewRefused, may_review_cells
from diagnostics.worklists import with_cell_counts

CASES_PER_PAGE = 25
SCREEN_CASE, ASSIGN_CASE, SIGN_OFF = queue.SCREEN_CASE, queue.ASSIGN_CASE, queue.SIGN_OFF

QUEUES = {
    "queue": ("Screening queue", queue.awaiting_screening,
              "No case awaits screening in your labs."),
    "mine": ("My cases", queue.held_by, "You hold no case: claim one from the queue."),
    "pathologist_queue": ("Pathologist queue", queue.awaiting_pathologist,
                          "No screened case awaits a pathologist in your labs."),
}


def show_queue(request, name):
    """One of the queues, of all the user's labs or of the one chosen (``?lab=``)."""
    title, cases_of, empty = QUEUES[name]
    labs = list(request.user.labs.order_by("name"))
    lab_chosen = chosen_lab(request, labs)
    cases = cases_of(request.user)
    if lab_chosen is not None:
        cases = cases.filter(lab=lab_chosen)
    page = page_or_404(request, cases, CASES_PER_PAGE, IndexOrderPaginator)
    counted = with_cell_counts(case.specimen for case in page.object_list)
    log_patient_list_read(request, counted)
    return render(request, "cases/queue.html", {
        "title": title, "empty": empty, "page": page, "rows": list(zip(page.object_list, counted)),
        "which": name, "labs": labs, "lab_chosen": lab_chosen})


def chosen_lab(request, labs):
    """The lab ``?lab=`` names among the user's (None: all of them); another is a 404."""
    wanted = request.GET.get("lab") or None
    if wanted is None:
        return None
    for lab in labs:
        if str(lab.pk) == wanted:
            return lab
    raise Http404("You are not a member of that lab.")


@permission_required(SCREEN_CASE, raise_exception=True)
def screening_queue(request):
    return show_queue(request, "queue")


@permission_required(SCREEN_CASE, raise_exception=True)
def my_cases(request):
    return show_queue(request, "mine")


@permission_required(SIGN_OFF, raise_exception=True)
def pathologist_queue(request):
    return show_queue(request, "pathologist_queue")


def refused_or_done(request, action, done):
    """Run ``action``; its ReviewRefused is the user's error message, else ``done``."""
    try:
        result = action()
    except ReviewRefused as refusal:
        messages.error(request, str(refusal))
        return None
    messages.success(request, done)
    return result


@require_POST
@permission_required(SCREEN_CASE, raise_exception=True)
def claim(request, case_id):
    case = get_case_for_user(request.user, case_id)
    claimed = refused_or_done(request, lambda: queue.claim(case, request.user),
                              f"You claimed case {case.specimen}.")
    if claimed is not None and claimed.stage == claimed.Stage.IN_SCREENING:
        return redirect("cases:screen", case.pk)  # a screener's next step
    return redirect(case.specimen)  # a pathologist's: the gallery, then review and sign-off


@require_POST
@permission_required(SCREEN_CASE, raise_exception=True)
def assign(request, case_id):
    """A supervisor assigns the case to a screener, or its screener hands it over to another."""
    case = get_case_for_user(request.user, case_id)
    if not queue.may_assign(request.user, case):
        raise PermissionDenied
    form = AssignForm(request.POST, screeners=queue.screeners_of(case.lab))
    if not form.is_valid():
        messages.error(request, "Choose a screener of the case's lab.")
    else:
        screener = form.cleaned_data["screener"]
        refused_or_done(request, lambda: queue.assign(case, screener, request.user),
                        f"Case {case.specimen} assigned to {screener}.")
    return redirect(case.specimen)


@require_POST
@permission_required(SCREEN_CASE, raise_exception=True)
def return_to_queue(request, case_id):
    case = get_case_for_user(request.user, case_id)
    refused_or_done(request, lambda: queue.release_to_queue(case, request.user),
                    f"Case {case.specimen} is back in the screening queue.")
    return redirect("cases:queue")


@permission_required(SCREEN_CASE, raise_exception=True)
def screen(request, case_id):
    """The cytotechnologist's findings, and where the case goes next."""
    case = get_case_for_user(request.user, case_id)
    log_patient_read(request, case.specimen)
    form = ScreeningForm(request.POST or None, patient_age=age_at_collection(case.specimen),
                         instance=ScreeningFindings.objects.filter(case=case).first())
    flagged = ai_flagged_abnormal(case.specimen)
    if request.method == "POST" and form.is_valid():
        release = "release" in request.POST
        routed = refused_or_done(
            request, lambda: finish_screening(
                case, request.user, form.findings(), form.cleaned_data["comment"], release),
            f"Case {case.specimen} " + ("released as NILM and signed out." if release
                                        else "sent to the pathologists' queue."))
        if routed:
            return redirect("cases:queue")
    context = {
        "case": case, "specimen": case.specimen, "form": form, "ai_flagged": flagged,
        "holds_it": case.stage == case.Stage.IN_SCREENING and case.screener_id == request.user.pk,
        "may_release": route({"adequacy": Adequacy.SATISFACTORY,
                              "interpretation": Interpretation.NILM}, flagged,
                             case.lab.cytotechnologist_may_release_nilm) == RELEASE,
        "cells": with_cell_counts([case.specimen])[0],
        "may_review_cells": may_review_cells(request.user),
    }
    return render(request, "cases/screen.html", context)


def age_at_collection(specimen):
    """The patient's age in whole years on the collection date (the endometrial-cells rule)."""
    born, collected = specimen.patient.date_of_birth, specimen.collected_on
    return collected.year - born.year - ((collected.month, collected.day) < (born.month, born.day))


def correctable_record(user, kind, record_id):
    """The patient, specimen or requisition to correct, through the access rules (404)."""
    if kind == "patient":
        return get_patient_for_user(user, record_id)
    specimen = get_specimen_for_user(user, record_id)
    if kind == "specimen":
        return specimen
    requisition = getattr(specimen, "requisition", None)
    if requisition is None:
        raise Http404("This specimen has no requisition.")
    return requisition


@permission_required("cases.add_correction", raise_exception=True)
def correct(request, kind, record_id):
    if kind not in CORRECTABLE:
        raise Http404("Nothing of that kind can be corrected.")
    record = correctable_record(request.user, kind, record_id)
    if request.method == "GET":
        log_patient_read(request, record.specimen if kind == "requisition" else record)
    model, field_names = CORRECTABLE[kind]
    form_class = correction_form(model, field_names)
    # Bound to a copy: validating the form sets its fields, the old values must stay known.
    form = form_class(request.POST or None, instance=model.objects.get(pk=record.pk))
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in field_names}
        corrections = refused_or_done(
            request, lambda: correct_fields(record, changes, form.cleaned_data["reason"],
                                            request.user), "Correction saved.")
        if corrections is not None:
            if kind == "requisition":  # a new ordering clinician may read the patient
                share_patient_with(record.ordering_clinician, record.specimen.patient)
            return redirect(back_to(kind, record))
    return render(request, "cases/correct.html",
                  {"form": form, "kind": kind, "record": record, "back": back_to(kind, record)})


def back_to(kind, record):
    return record.specimen if kind == "requisition" else record


@require_POST
@permission_required("imaging.delete_imageasset", raise_exception=True)
def delete_image(request, image_id):
    image = get_image_for_user(request.user, image_id)
    specimen = image.specimen
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Deleting an upload needs a reason: say what was wrong with it.")
    else:
        refused_or_done(request, lambda: delete_upload(image, form.cleaned_data["reason"],
                                                       request.user),
                        f"{image} deleted from specimen {specimen}, with its results.")
    return redirect(specimen)
