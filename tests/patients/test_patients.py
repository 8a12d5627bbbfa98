from auditlog.models import LogEntry
from django.urls import reverse

from patients.models import Patient


def new_patient_form(**overrides):
    form = {"mrn": "mrn-42", "full_name": "Jane Roe", "date_of_birth": "1984-05-06",
            "consent_given": "on"}
    form.update(overrides)
    return form


def test_lab_staff_creates_a_patient(client_for, lab_staff):
    response = client_for(lab_staff).post(reverse("patients:create"), new_patient_form())
    patient = Patient.objects.get()
    assert response.status_code == 302 and response["Location"] == patient.get_absolute_url()
    assert (patient.mrn, patient.consent_given, patient.created_by) == ("MRN-42", True, lab_staff)


def test_mrn_must_be_unique(client_for, lab_staff, patient):
    response = client_for(lab_staff).post(reverse("patients:create"), new_patient_form(mrn=patient.mrn))
    assert response.status_code == 200
    assert "Patient with this MRN already exists" in response.content.decode()
    assert Patient.objects.count() == 1


def test_doctor_cannot_create_patients(client_for, doctor):
    assert client_for(doctor).post(reverse("patients:create"), new_patient_form()).status_code == 403


def test_doctor_lists_only_assigned_patients(client_for, patient, other_doctor, doctor):
    Patient.objects.create(mrn="MRN-2", full_name="Someone Else", date_of_birth="1970-01-01")
    names = client_for(doctor).get(reverse("patients:list")).content.decode()
    assert "Test Patient" in names and "Someone Else" not in names
    assert "Test Patient" not in client_for(other_doctor).get(reverse("patients:list")).content.decode()


def test_another_doctor_gets_404_for_the_patient(client_for, patient, other_doctor):
    assert client_for(other_doctor).get(patient.get_absolute_url()).status_code == 404


def test_viewing_a_patient_is_audited(client_for, patient, doctor):
    client_for(doctor).get(patient.get_absolute_url())
    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS, object_pk=str(patient.pk))
    assert entry.actor == doctor


def test_creating_a_patient_is_audited_with_the_actor(client_for, lab_staff):
    client_for(lab_staff).post(reverse("patients:create"), new_patient_form())
    entry = LogEntry.objects.get(action=LogEntry.Action.CREATE)
    assert entry.actor == lab_staff and "MRN-42" in entry.changes_str


def test_search_finds_patient_by_mrn(client_for, lab_staff, patient):
    page = client_for(lab_staff).get(reverse("patients:list"), {"q": "mrn-1"}).content.decode()
    assert "Test Patient" in page
