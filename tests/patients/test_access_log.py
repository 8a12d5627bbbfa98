"""An administrator sees who viewed a patient's record, one click from the patient page;
nobody else does."""
from django.urls import reverse

from accounts.access import assign_doctor


def test_administrator_sees_who_viewed_the_patient_and_its_specimens(
        client_for, client, patient, specimen, doctor, administrator):
    doctor.first_name, doctor.last_name = "Dana", "Doctor"
    doctor.save()
    client.force_login(doctor)
    client.get(reverse("imaging:specimen", args=[specimen.pk]), REMOTE_ADDR="10.4.4.4")
    client.get(patient.get_absolute_url(), REMOTE_ADDR="10.4.4.5")

    page = client_for(administrator).get(patient.get_absolute_url()).content.decode()
    access_log = reverse("patients:access_log", args=[patient.pk])
    assert f'href="{access_log}"' in page  # one click away

    log = client_for(administrator).get(access_log).content.decode()
    assert log.count("Dana Doctor") == 2
    assert "10.4.4.4" in log and "10.4.4.5" in log
    assert "ACC-1" in log and f"/specimens/{specimen.pk}/" in log  # what was viewed


def test_others_get_403_and_no_link(client_for, patient, doctor, lab_staff):
    access_log = reverse("patients:access_log", args=[patient.pk])
    for user in (doctor, lab_staff):
        client = client_for(user)
        assert client.get(access_log).status_code == 403
        assert access_log not in client.get(patient.get_absolute_url()).content.decode()


def test_another_patients_reads_are_not_listed(client_for, patient, specimen, administrator,
                                               doctor, lab_staff):
    from patients.models import Patient

    other = Patient.objects.create(mrn="MRN-2", full_name="Other Patient",
                                   date_of_birth="1970-01-01", created_by=lab_staff)
    assign_doctor(other, doctor)
    client_for(doctor).get(other.get_absolute_url(), REMOTE_ADDR="10.9.9.9")
    log = client_for(administrator).get(reverse("patients:access_log", args=[patient.pk]))
    assert "10.9.9.9" not in log.content.decode()


def test_an_unknown_patient_is_404(client_for, administrator):
    assert client_for(administrator).get(reverse("patients:access_log", args=[999])).status_code == 404
