from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Q
from django.shortcuts import redirect, render

from accounts.access import get_patient_for_user, patients_visible_to, reads_signed_reports_only
from accounts.audit import log_patient_list_read, log_patient_read, reads_of_patient
from accounts.decorators import administrator_required
from celinsight.pagination import page_or_404
from patients.forms import PatientForm
from patients.history import history_of, with_images
from patients.trend import trend_chart

PATIENTS_PER_PAGE = 25
SPECIMENS_PER_PAGE = 20
READS_PER_PAGE = 50


def patient_list(request):
    patients = patients_visible_to(request.user)
    query = request.GET.get("q", "").strip()
    if query:
        # A specimen's accession number finds its patient, among the visible ones only.
        patients = patients.filter(
            Q(mrn__icontains=query) | Q(full_name__icontains=query)
            | Q(specimens__accession_number__icontains=query)
        ).distinct()
    page = page_or_404(request, patients, PATIENTS_PER_PAGE)
    log_patient_list_read(request, page.object_list)
    return render(request, "patients/list.html", {"page": page, "query": query})


@permission_required("patients.add_patient", raise_exception=True)
def patient_create(request):
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = form.save(commit=False)
        patient.created_by = request.user
        patient.save()
        messages.success(request, f"Patient {patient} created.")
        return redirect(patient)
    return render(request, "patients/create.html", {"form": form})


def patient_detail(request, patient_id):
    patient = get_patient_for_user(request.user, patient_id)
    log_patient_read(request, patient)
    history = history_of(patient, images=False)
    sees_material = not reads_signed_reports_only(request.user)
    if not sees_material:  # a clinician: the signed specimens, without their cells
        history = [entry for entry in history if entry.current_sign_off]
    page = page_or_404(request, history, SPECIMENS_PER_PAGE)
    with_images(page.object_list)
    context = {
        "patient": patient,
        "history": page.object_list,
        "page": page,
        "trend": trend_chart(history),
        "can_add_specimen": request.user.has_perm("imaging.add_specimen"),
        "sees_material": sees_material,
    }
    return render(request, "patients/detail.html", context)


@administrator_required
def patient_access_log(request, patient_id):
    """Who viewed this record: the access entries of the patient and of its specimens,
    images and results (administrators only; others get 403)."""
    patient = get_patient_for_user(request.user, patient_id)
    log_patient_read(request, patient)
    page = page_or_404(request, reads_of_patient(patient), READS_PER_PAGE)
    return render(request, "patients/access_log.html", {"patient": patient, "page": page})
