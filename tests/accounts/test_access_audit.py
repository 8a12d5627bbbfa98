"""Granting and revoking access to a record (django-guardian object permissions) is audited,
with the actor, whichever door it came through."""
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.urls import reverse
from guardian.shortcuts import assign_perm, remove_perm

from accounts.access import VIEW_PATIENT
from accounts.request_context import serving
from patients.models import Patient


def access_entries(patient, change, user=None):
    entries = LogEntry.objects.get_for_object(patient).filter(
        additional_data__object_permission=change).order_by("pk")
    return entries if user is None else entries.filter(additional_data__user=user.username)


def test_assigning_doctors_in_admin_is_audited_with_the_administrator(
        client_for, administrator, patient, doctor, other_doctor):
    client_for(administrator).post(reverse("admin:patients_patient_change", args=[patient.pk]), {
        "mrn": patient.mrn, "full_name": patient.full_name, "date_of_birth": "1980-01-02",
        "consent_given": "on", "assigned_doctors": [other_doctor.pk],
    }, REMOTE_ADDR="10.9.8.7")

    [granted] = access_entries(patient, "granted", other_doctor)
    assert granted.actor == administrator
    assert granted.remote_addr == "10.9.8.7"
    assert granted.additional_data["user"] == other_doctor.username
    assert granted.additional_data["permission"] == VIEW_PATIENT
    [revoked] = access_entries(patient, "revoked")
    assert revoked.actor == administrator
    assert revoked.additional_data["user"] == doctor.username


def test_assign_perm_from_a_shell_is_audited_as_a_script(patient, other_doctor):
    assign_perm(VIEW_PATIENT, other_doctor, patient)
    [granted] = access_entries(patient, "granted", other_doctor)
    assert granted.actor is None
    assert granted.additional_data["via"] == "shell or script"
    assert "view_patient" in str(granted.changes)


def test_a_script_that_names_its_actor_is_attributed(patient, other_doctor, administrator):
    with set_actor(administrator):
        assign_perm(VIEW_PATIENT, other_doctor, patient)
        remove_perm(VIEW_PATIENT, other_doctor, patient)
    entries = LogEntry.objects.get_for_object(patient).filter(
        additional_data__user=other_doctor.username).order_by("pk")
    assert [(entry.additional_data["object_permission"], entry.actor) for entry in entries] == [
        ("granted", administrator), ("revoked", administrator)]


def test_remove_perm_from_a_shell_is_audited(patient, doctor):
    remove_perm(VIEW_PATIENT, doctor, patient)
    [revoked] = access_entries(patient, "revoked")
    assert revoked.additional_data["user"] == doctor.username


def test_bulk_grants_are_audited_one_entry_per_record(db, lab_staff, other_doctor, doctor):
    patients = [Patient.objects.create(mrn=f"MRN-B{n}", full_name=f"Bulk {n}",
                                       date_of_birth="1970-01-01") for n in range(3)]
    assign_perm(VIEW_PATIENT, other_doctor, Patient.objects.filter(mrn__startswith="MRN-B"))
    assign_perm(VIEW_PATIENT, [doctor, other_doctor], patients[0])  # other_doctor holds it already
    assert [access_entries(patient, "granted").count() for patient in patients] == [2, 1, 1]
    assert {entry.additional_data["user"] for entry in access_entries(patients[0], "granted")} == {
        doctor.username, other_doctor.username}


def test_group_grants_are_audited(patient):
    group = Group.objects.create(name="Tumour board")
    assign_perm(VIEW_PATIENT, group, patient)
    remove_perm(VIEW_PATIENT, group, patient)
    granted = access_entries(patient, "granted").filter(additional_data__has_key="group").get()
    assert granted.additional_data["group"] == "Tumour board"
    assert access_entries(patient, "revoked").get().additional_data["group"] == "Tumour board"


def test_a_grant_made_while_serving_a_request_names_its_signed_in_user(rf, patient, other_doctor,
                                                                     administrator):
    # An API view authenticated by token: DRF puts the token's user on the request.
    request = rf.post("/api/patients/")
    request.user = administrator
    with serving(request):
        assign_perm(VIEW_PATIENT, other_doctor, patient)
    [granted] = access_entries(patient, "granted", other_doctor)
    assert (granted.actor, granted.additional_data["via"]) == (administrator, "web request")
