"""The one place that decides who may see which patient record.

Every view that loads a patient, specimen or image goes through these helpers, so
no view can forget the check. A record the user may not see is a 404, never a 403:
its existence is not disclosed.
"""
from django.contrib.auth.models import Group
from django.shortcuts import get_object_or_404
from guardian.shortcuts import assign_perm, get_objects_for_user, get_users_with_perms, remove_perm

from accounts.roles import DOCTOR
from imaging.models import ImageAsset, Specimen
from patients.models import Patient

VIEW_PATIENT = "patients.view_patient"


def patients_visible_to(user):
    """Patients the user may open: all of them with the global permission, else assigned ones."""
    return get_objects_for_user(user, VIEW_PATIENT, klass=Patient, accept_global_perms=True)


def get_patient_for_user(user, patient_id):
    return get_object_or_404(patients_visible_to(user), pk=patient_id)


def get_specimen_for_user(user, specimen_id):
    specimens = Specimen.objects.select_related("patient").filter(
        patient__in=patients_visible_to(user)
    )
    return get_object_or_404(specimens, pk=specimen_id)


def get_image_for_user(user, image_id):
    images = ImageAsset.objects.select_related("specimen__patient").filter(
        specimen__patient__in=patients_visible_to(user)
    )
    return get_object_or_404(images, pk=image_id)


def doctors():
    group = Group.objects.get(name=DOCTOR)
    return group.user_set.filter(is_active=True).order_by("username")


def assigned_doctors(patient):
    users = get_users_with_perms(
        patient, only_with_perms_in=["view_patient"], with_group_users=False
    )
    return users.filter(groups__name=DOCTOR).order_by("username")


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
