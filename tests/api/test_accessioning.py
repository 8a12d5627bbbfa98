"""Specimens created through the API are accessioned as the page does: a requisition, a case
in the lab's screening queue, the ordering clinician's access; bad input is a 400 saying why."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.access import patients_visible_to
from cases.models import Case, HandOver
from imaging.models import Specimen

REQUISITION = {"accession_number": "api-77", "collected_on": "2026-11-02",
               "specimen_type": "liquid_based", "hpv_result": "positive_16",
               "last_menstrual_period": "2026-10-20", "previous_abnormal_result": True,
               "pregnant": False, "other_risk_flags": ["immunosuppressed", "iud"]}


@pytest.fixture
def accession(api_as, lab_staff, patient, lab, clinician):
    lab.members.add(lab_staff)

    def post(data=None, format="json", **changes):
        body = {"patient": patient.pk, "lab": lab.pk, "ordering_clinician": clinician.pk,
                **REQUISITION, **changes} if data is None else data
        return api_as(lab_staff).post(reverse("api:specimens"), body, format=format)
    return post


def in_the_future(days=1):
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def test_an_api_specimen_enters_the_labs_screening_queue(
        accession, client_for, patient, lab, lab_staff, clinician, cytotechnologist):
    response = accession()
    assert response.status_code == 201, response.json()
    specimen = Specimen.objects.get(pk=response.json()["id"])
    assert (specimen.patient, specimen.accession_number) == (patient, "API-77")
    assert (specimen.case.lab, specimen.case.stage) == (lab, Case.Stage.AWAITING_SCREENING)
    assert HandOver.objects.get(case=specimen.case).by == lab_staff
    requisition = specimen.requisition
    assert (requisition.ordering_clinician, requisition.specimen_type,
            requisition.hpv_result) == (clinician, "liquid_based", "positive_16")
    assert requisition.clinical_history() == [
        "previous abnormal result", "Immunosuppressed", "Intrauterine device"]
    queue = client_for(cytotechnologist).get(reverse("cases:queue")).content.decode()
    assert "API-77" in queue
    assert patient in patients_visible_to(clinician)


def test_the_answer_shows_the_requisition_and_the_case(accession, lab, clinician):
    answer = accession().json()
    assert answer["case"]["lab"] == lab.pk and answer["case"]["stage"] == "awaiting_screening"
    assert answer["requisition"]["ordering_clinician"] == clinician.pk
    assert answer["requisition"]["other_risk_flags"] == ["immunosuppressed", "iud"]


def test_a_form_encoded_request_is_accessioned_too(accession, patient, lab, clinician):
    response = accession({"patient": patient.pk, "lab": lab.pk, "ordering_clinician": clinician.pk,
                          "accession_number": "API-78", "collected_on": "2026-11-02",
                          "specimen_type": "conventional", "post_menopausal": "true",
                          "other_risk_flags": ["hiv", "iud"]}, format="multipart")
    assert response.status_code == 201, response.json()
    requisition = Specimen.objects.get(accession_number="API-78").requisition
    assert requisition.post_menopausal and requisition.other_risk_flags == ["hiv", "iud"]


def test_a_specimen_without_a_requisition_is_refused_naming_each_field(accession, patient):
    response = accession({"patient": patient.pk, "accession_number": "API-79",
                          "collected_on": "2026-11-02"})
    assert response.status_code == 400
    errors = response.json()
    assert {"lab", "ordering_clinician", "specimen_type"} <= set(errors)
    assert errors["lab"][0].startswith("Give the id of one of your labs: ")
    assert not Specimen.objects.filter(accession_number="API-79").exists()


def test_a_lab_that_is_not_theirs_is_refused_with_their_labs(accession, lab, other_lab):
    response = accession(lab=other_lab.pk)
    assert response.status_code == 400
    assert response.json()["lab"] == [
        f"No lab with id {other_lab.pk} is yours; give the id of one of your labs: "
        f"{lab.pk} (North lab)."]
    assert not Case.objects.exists()


def test_lab_staff_in_no_lab_are_told_to_ask_for_one(accession, lab, lab_staff):
    lab.members.remove(lab_staff)
    response = accession()
    assert response.status_code == 400
    assert "You belong to no lab" in response.json()["lab"][0]


def test_only_a_clinician_may_be_the_ordering_clinician(accession, doctor):
    response = accession(ordering_clinician=doctor.pk)
    assert response.status_code == 400
    assert response.json()["ordering_clinician"][0].startswith(
        f"No active clinician has the user id {doctor.pk}; give the user id")


@pytest.mark.parametrize("field", ["collected_on", "last_menstrual_period"])
def test_a_date_in_the_future_is_refused(accession, field):
    response = accession(**{field: in_the_future()})
    assert response.status_code == 400
    assert "is in the future" in response.json()[field][0]
    assert not Specimen.objects.exists()


@pytest.mark.parametrize("field, value", [("specimen_type", "biopsy"),
                                          ("hpv_result", "maybe"),
                                          ("other_risk_flags", ["smoker"])])
def test_a_value_outside_the_choices_is_refused(accession, field, value):
    response = accession(**{field: value})
    assert response.status_code == 400
    assert field in response.json()


def test_a_duplicate_accession_number_is_refused(accession):
    assert accession().status_code == 201
    again = accession()
    assert again.status_code == 400
    assert "accession_number" in again.json()
    assert Case.objects.count() == 1
