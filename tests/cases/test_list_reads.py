"""Every list that shows patients (the patient list and its search, the worklist, the case
queues, the API's lists) leaves an access entry for each patient or specimen it showed,
with the user, as opening one record does."""
from auditlog.models import LogEntry
from django.urls import reverse

from cases.models import Case
from imaging.models import Specimen


def listed_reads(user):
    return {(entry.content_type.model, entry.object_repr)
            for entry in LogEntry.objects.filter(actor=user, action=LogEntry.Action.ACCESS,
                                                 additional_data__listed=True)}


def test_the_screening_queue_logs_each_specimen_shown(client_for, accessioned, lab,
                                                      cytotechnologist):
    for number in (1, 2):
        accessioned(lab, number)
    client_for(cytotechnologist).get(reverse("cases:queue"), REMOTE_ADDR="10.1.2.3")
    assert listed_reads(cytotechnologist) == {("specimen", f"C{lab.pk}-1"),
                                              ("specimen", f"C{lab.pk}-2")}
    entry = LogEntry.objects.filter(actor=cytotechnologist).first()
    assert entry.remote_addr == "10.1.2.3"
    assert entry.additional_data["path"] == reverse("cases:queue")


def test_the_worklist_logs_each_specimen_shown(client_for, case, pathologist):
    Case.objects.filter(pk=case.pk).update(stage=Case.Stage.AWAITING_PATHOLOGIST)
    Specimen.objects.filter(pk=case.specimen_id).update(awaiting_sign_off=True)
    client_for(pathologist).get(reverse("diagnostics:worklist"))
    assert listed_reads(pathologist) == {("specimen", case.specimen.accession_number)}


def test_a_patient_search_logs_the_patients_found(client_for, patient, doctor):
    client_for(doctor).get(reverse("patients:list"), {"q": patient.mrn})
    assert listed_reads(doctor) == {("patient", str(patient))}


def test_an_empty_list_logs_nothing(client_for, doctor):
    client_for(doctor).get(reverse("patients:list"), {"q": "nobody"})
    assert listed_reads(doctor) == set()


def test_the_api_lists_log_each_record_returned(api_as, patient, specimen, doctor):
    client = api_as(doctor)
    assert client.get("/api/patients/").status_code == 200
    assert client.get("/api/specimens/").status_code == 200
    assert listed_reads(doctor) == {("patient", str(patient)),
                                    ("specimen", specimen.accession_number)}


def test_the_admin_sites_lists_log_each_record_shown(client_for, patient, specimen,
                                                     administrator):
    client = client_for(administrator)
    assert client.get(reverse("admin:patients_patient_changelist")).status_code == 200
    assert client.get(reverse("admin:imaging_specimen_changelist"),
                      {"q": specimen.accession_number}).status_code == 200
    assert listed_reads(administrator) == {("patient", str(patient)),
                                           ("specimen", str(specimen))}


def test_an_admin_action_answered_with_a_file_logs_no_list(client_for, patient, administrator):
    response = client_for(administrator).post(
        reverse("admin:patients_patient_changelist"),
        {"action": "export_patient_data", "_selected_action": [patient.pk], "index": 0})
    assert response["Content-Type"] == "application/zip"
    assert listed_reads(administrator) == set()
