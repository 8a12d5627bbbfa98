"""The one place that decides who may see which patient record.

Every view that loads a patient, specimen, image or result goes through these helpers, so
no view can forget the check. A record the user may not see is a 404, never a 403:
its existence is not disclosed. Clinicians (read-only: no working permission, only grants on
their own patients) see those patients' histories and signed specimens' reports; an unsigned
specimen, and every specimen's images, cells and AI gallery, are records they may not see (404). Each such 404 is a line in the security log (an IDOR
probe leaves a trace), for pages and API alike.
"""
import functools

from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from guardian.shortcuts import assign_perm, get_users_with_perms, remove_perm

from accounts.object_access import granted_patients, holds_patient
from accounts.request_context import current_request
from accounts.roles import PATHOLOGIST
from accounts.security_log import log_security_event
from cases.models import Case
from celinsight.compiled_queries import CompiledQuery
from diagnostics.models import CellResult, SpecimenSignOff
from imaging.models import ImageAsset, Specimen
from patients.models import Patient

VIEW_PATIENT = "patients.view_patient"
SCREEN_CASE = "cases.screen_case"
# Whoever holds none of these reads signed reports only (clinicians).
WORKING_PERMISSIONS = (VIEW_PATIENT, SCREEN_CASE, "diagnostics.sign_off_specimen",
                       "imaging.add_imageasset")


def reads_signed_reports_only(user):
    """Clinicians, and anyone else whose only access is a grant on patients: their patients'
    histories and signed reports, not unsigned specimens, images, cells or the AI's gallery."""
    return not any(user.has_perm(name) for name in WORKING_PERMISSIONS)


def patients_visible_to(user):
    """Patients the user may open: all of them with the global permission; else those granted
    to them (clinicians' own patients, assigned pathologists) and, for screeners
    (cytotechnologists, pathologists), the patients with a case in one of their labs."""
    if user.has_perm(VIEW_PATIENT):
        return Patient.objects.all()
    granted = granted_patients(user, VIEW_PATIENT, field="pk")
    if not user.has_perm(SCREEN_CASE):
        return Patient.objects.filter(granted)
    in_my_labs = Case.objects.filter(specimen__patient=OuterRef("pk"), lab__members=user)
    return Patient.objects.filter(granted | Exists(in_my_labs))


def specimens_worked_on_by(user):
    """Specimens on the user's work lists: all with the global permission; else those of
    patients granted to them and, for screeners, those whose own case is in one of their
    labs. Narrower than ``specimens_visible_to``, which adds a lab patient's other specimens
    (for the history), and a join rather than a scan of every patient: the worklist's query
    took 18 ms with 10,000 patients, 2 ms this way."""
    if user.has_perm(VIEW_PATIENT):
        return Specimen.objects.all()
    works_on = granted_patients(user, VIEW_PATIENT)
    if user.has_perm(SCREEN_CASE):
        works_on |= Q(case__lab__in=user.labs.values("pk"))
    return Specimen.objects.filter(works_on)


def cases_in_labs_of(user):
    """The cases of the labs the user belongs to: their queues and the cases they may act on."""
    return Case.objects.filter(lab__in=user.labs.values("pk"))


def get_case_for_user(user, case_id):
    return get_visible_or_404(user, cases_in_labs_of(user).select_related("specimen__patient", "lab"),
                              "case", case_id)


PATIENT_BY_KEY = CompiledQuery(lambda key: Patient.objects.filter(pk=key).order_by("pk")[:1], -1)


def get_patient_for_user(user, patient_id):
    """The patient, if ``patients_visible_to(user)`` holds them, checked for this one (the
    query of every visible patient took a seventh of the history page's CPU to build)."""
    patient = PATIENT_BY_KEY.first(patient_id)
    if patient is not None and may_open_patient(user, patient):
        return patient
    refuse(user, Patient, "patient", patient_id, exists=patient is not None)


def specimens_visible_to(user):
    """Specimens of the patients the user may open; for clinicians, the signed ones only."""
    specimens = Specimen.objects.filter(patient__in=patients_visible_to(user))
    if reads_signed_reports_only(user):
        specimens = specimens.filter(
            Exists(SpecimenSignOff.objects.filter(specimen=OuterRef("pk"))))
    return specimens


# What a specimen's pages show of its case and requisition, joined into the specimen's query.
CASE_AND_REQUISITION = ("case__lab", "case__screener", "case__pathologist", "case__findings",
                        "requisition__ordering_clinician")


def may_open_patient(user, patient):
    """Whether ``patients_visible_to(user)`` holds this patient, decided for it alone by the
    same rules: the global permission, a grant (the user's or a group's), or, for screeners,
    a case of the patient in one of their labs. Opening one specimen through the query of
    all visible patients cost PostgreSQL 5-12 ms, most of it planning; guardian's check
    and the lab's were three queries; this is one (``object_access.holds_patient``)."""
    if user.has_perm(VIEW_PATIENT):
        return True
    return user.is_active and holds_patient(user, patient, VIEW_PATIENT,
                                            through_labs=user.has_perm(SCREEN_CASE))


@functools.cache
def specimen_with(related):
    """The specimen by its key, with its patient and ``related``, compiled once."""
    return CompiledQuery(lambda key: Specimen.objects.select_related("patient", *related)
                         .filter(pk=key).order_by("pk")[:1], -1)


def get_specimen_for_user(user, specimen_id, related=()):
    """The specimen and its report (sign-offs): for clinicians, a signed specimen only; the
    same specimens as ``specimens_visible_to``, checked for this one.
    ``related``: relations to read in the same query (e.g. CASE_AND_REQUISITION)."""
    specimen = specimen_with(tuple(related)).first(specimen_id)
    if specimen is not None and may_open_patient(user, specimen.patient) and (
            not reads_signed_reports_only(user) or specimen.sign_offs.exists()):
        return specimen
    refuse(user, Specimen, "specimen", specimen_id, exists=specimen is not None)


def get_specimen_material_for_user(user, specimen_id, related=()):
    """The specimen with its images, cells and AI gallery (the specimen page): never a
    clinician's, whose reading is the history and the signed report."""
    if reads_signed_reports_only(user):
        return get_visible_or_404(user, Specimen.objects.none(), "specimen", specimen_id)
    return get_specimen_for_user(user, specimen_id, related)


def get_image_for_user(user, image_id):
    images = ImageAsset.objects.select_related("specimen__patient").filter(
        specimen__patient__in=patients_visible_to(user)
    )
    if reads_signed_reports_only(user):  # images are material, never a clinician's
        images = images.none()
    return get_visible_or_404(user, images, "image", image_id)


def get_result_for_user(user, result_id):
    results = CellResult.objects.select_related("image__specimen").filter(
        image__specimen__patient__in=patients_visible_to(user)
    )
    if reads_signed_reports_only(user):  # cells are material, never a clinician's
        results = results.none()
    return get_visible_or_404(user, results, "result", result_id)


def get_visible_or_404(user, visible, record, record_id):
    """The record with this id among those ``visible`` to the user, else log and 404."""
    try:
        return visible.get(pk=record_id)
    except visible.model.DoesNotExist:
        exists = visible.model.objects.filter(pk=record_id).exists()
        refuse(user, visible.model, record, record_id, exists)


def refuse(user, model, record, record_id, exists):
    """Log the refused read (``exists``: whether the record exists, which tells a probe of
    real records from mistyped ids) and answer 404."""
    log_security_event("access_denied", current_request(), username=user.get_username(),
                       record=record, id=str(record_id), exists=exists)
    raise Http404(f"No {model._meta.object_name} matches the given query.") from None


def doctors():
    group = Group.objects.get(name=PATHOLOGIST)
    return group.user_set.filter(is_active=True).order_by("username")


def assigned_doctors(patient):
    users = get_users_with_perms(
        patient, only_with_perms_in=["view_patient"], with_group_users=False
    )
    return users.filter(groups__name=PATHOLOGIST).order_by("username")


def share_patient_with(user, patient):
    """Let the user read the patient's record (the ordering clinician of one of its specimens)."""
    assign_perm(VIEW_PATIENT, user, patient)


def assign_doctor(patient, doctor):
    assign_perm(VIEW_PATIENT, doctor, patient)


def unassign_doctor(patient, doctor):
    remove_perm(VIEW_PATIENT, doctor, patient)


def set_assigned_doctors(patient, wanted_doctors):
    current = set(assigned_doctors(patient))
    wanted = set(wanted_doctors)
    for doctor in wanted - current:
        assign_doctor(patient, doctor)
    for doctor in current - wanted:
        unassign_doctor(patient, doctor)
