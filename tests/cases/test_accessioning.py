"""Lab staff accession a specimen with its requisition; it is in its lab's queue at once."""
from django.urls import reverse

from cases.models import Case, HandOver
from tests.cases.conftest import today_plus

FORM = {"accession_number": "acc-77", "collected_on": "2026-11-02",
        "specimen_type": "conventional", "hpv_result": "positive_16",
        "last_menstrual_period": "2026-10-20", "previous_abnormal_result": "on",
        "other_risk_flags": ["immunosuppressed", "iud"]}


def accession_page(client, patient):
    return reverse("imaging:specimen_create", args=[patient.pk])


def test_accessioning_records_the_requisition_and_queues_the_case(
        client_for, lab_staff, patient, lab, clinician):
    lab.members.add(lab_staff)
    response = client_for(lab_staff).post(
        accession_page(client_for, patient),
        {**FORM, "lab": lab.pk, "ordering_clinician": clinician.pk})
    specimen = patient.specimens.get()
    assert response["Location"] == specimen.get_absolute_url()
    requisition = specimen.requisition
    assert (requisition.ordering_clinician, requisition.hpv_result) == (clinician, "positive_16")
    assert requisition.previous_abnormal_result and not requisition.pregnant
    assert requisition.other_risk_flags == ["immunosuppressed", "iud"]
    assert requisition.clinical_history() == [
        "previous abnormal result", "Immunosuppressed", "Intrauterine device"]
    assert (specimen.case.lab, specimen.case.stage) == (lab, Case.Stage.AWAITING_SCREENING)
    assert HandOver.objects.get(case=specimen.case).by == lab_staff


def test_the_case_is_in_the_queue_without_an_administrator(
        client_for, case, cytotechnologist, clinician):
    page = client_for(cytotechnologist).get(reverse("cases:queue"))
    assert case.specimen.accession_number in page.content.decode()
    specimen_page = client_for(cytotechnologist).get(case.specimen.get_absolute_url())
    assert specimen_page.status_code == 200


def test_the_ordering_clinician_may_read_the_patient(client_for, case, clinician):
    response = client_for(clinician).get(case.specimen.patient.get_absolute_url())
    assert response.status_code == 200


def test_a_collection_date_in_the_future_is_refused(client_for, lab_staff, patient, lab, clinician):
    lab.members.add(lab_staff)
    response = client_for(lab_staff).post(
        accession_page(client_for, patient),
        {**FORM, "collected_on": today_plus(1).isoformat(), "lab": lab.pk,
         "ordering_clinician": clinician.pk})
    assert response.status_code == 200
    assert "is in the future" in response.content.decode()
    assert not patient.specimens.exists()


def test_a_last_menstrual_period_in_the_future_is_refused(
        client_for, lab_staff, patient, lab, clinician):
    lab.members.add(lab_staff)
    response = client_for(lab_staff).post(
        accession_page(client_for, patient),
        {**FORM, "last_menstrual_period": today_plus(3).isoformat(), "lab": lab.pk,
         "ordering_clinician": clinician.pk})
    assert "is in the future" in response.content.decode()
    assert not patient.specimens.exists()


def test_a_date_of_birth_in_the_future_is_refused(client_for, lab_staff):
    response = client_for(lab_staff).post(reverse("patients:create"), {
        "mrn": "FUT-1", "full_name": "Not Born Yet",
        "date_of_birth": today_plus(1).isoformat()})
    assert response.status_code == 200
    assert "is in the future" in response.content.decode()


def test_a_future_collection_date_is_refused_by_the_api_too(api_as, lab_staff, patient):
    response = api_as(lab_staff).post(reverse("api:specimens"), {
        "patient": patient.pk, "accession_number": "API-9",
        "collected_on": today_plus(2).isoformat()}, format="json")
    assert response.status_code == 400
    assert "collected_on" in response.json()


def test_only_clinicians_may_be_ordering_clinicians(client_for, lab_staff, patient, lab, doctor):
    lab.members.add(lab_staff)
    response = client_for(lab_staff).post(
        accession_page(client_for, patient), {**FORM, "lab": lab.pk,
                                              "ordering_clinician": doctor.pk})
    assert response.status_code == 200 and not patient.specimens.exists()


def test_lab_staff_in_no_lab_are_told_to_ask_for_one(client_for, lab_staff, patient):
    page = client_for(lab_staff).get(reverse("imaging:specimen_create", args=[patient.pk]))
    assert "You belong to no lab" in page.content.decode()
