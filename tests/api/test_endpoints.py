"""Each endpoint's happy path, for the role that uses it."""
from django.urls import reverse

from cases.models import Case
from diagnostics import review
from diagnostics.models import CellReview, SpecimenSignOff
from imaging.models import Specimen
from patients.models import Patient


def test_lab_staff_create_a_patient(api_as, lab_staff):
    response = api_as(lab_staff).post(reverse("api:patients"), {
        "mrn": " mrn-77 ", "full_name": "New Patient", "date_of_birth": "1990-05-06",
        "consent_given": True,
    }, format="json")
    assert response.status_code == 201, response.json()
    patient = Patient.objects.get(pk=response.json()["id"])
    assert patient.mrn == "MRN-77"  # the page's form normalises it the same way
    assert patient.created_by == lab_staff


def test_a_duplicate_mrn_is_refused_with_the_forms_message(api_as, lab_staff, patient):
    response = api_as(lab_staff).post(reverse("api:patients"), {
        "mrn": patient.mrn, "full_name": "Someone", "date_of_birth": "1990-05-06",
    }, format="json")
    assert response.status_code == 400
    assert "mrn" in response.json()


def test_doctor_lists_and_opens_assigned_patients(api_as, doctor, patient):
    client = api_as(doctor)
    listed = client.get(reverse("api:patients")).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == patient.pk
    opened = client.get(reverse("api:patient", args=[patient.pk]))
    assert opened.json()["full_name"] == patient.full_name


def test_lists_are_paginated(api_as, lab_staff, settings):
    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    Patient.objects.bulk_create(
        Patient(mrn=f"P{number}", full_name=f"P {number}", date_of_birth="1970-01-01")
        for number in range(page_size + 1)
    )
    first = api_as(lab_staff).get(reverse("api:patients")).json()
    assert first["count"] == page_size + 1 and len(first["results"]) == page_size
    second = api_as(lab_staff).get(first["next"]).json()
    assert len(second["results"]) == 1


def test_lab_staff_accession_a_specimen_for_a_patient(api_as, lab_staff, patient, lab, clinician):
    lab.members.add(lab_staff)
    response = api_as(lab_staff).post(reverse("api:specimens"), {
        "patient": patient.pk, "accession_number": "acc-9", "collected_on": "2026-10-01",
        "lab": lab.pk, "ordering_clinician": clinician.pk, "specimen_type": "conventional",
    }, format="json")
    assert response.status_code == 201, response.json()
    specimen = Specimen.objects.get(pk=response.json()["id"])
    assert (specimen.patient, specimen.accession_number) == (patient, "ACC-9")
    assert specimen.case.lab == lab and specimen.requisition.hpv_result == "not_done"


def test_a_specimen_for_an_unknown_patient_is_refused(api_as, lab_staff):
    response = api_as(lab_staff).post(reverse("api:specimens"), {
        "patient": 999, "accession_number": "ACC-9", "collected_on": "2026-10-01",
    }, format="json")
    assert response.status_code == 400
    assert "patient" in response.json()


def test_doctor_lists_and_opens_specimens(api_as, doctor, specimen):
    client = api_as(doctor)
    assert [row["id"] for row in client.get(reverse("api:specimens")).json()["results"]] == [specimen.pk]
    opened = client.get(reverse("api:specimen", args=[specimen.pk])).json()
    assert opened["accession_number"] == specimen.accession_number
    assert opened["patient"] == specimen.patient_id


def test_images_and_results_of_a_specimen(api_as, doctor, specimen, flagged_result):
    client = api_as(doctor)
    images = client.get(reverse("api:specimen_images", args=[specimen.pk])).json()
    assert [row["id"] for row in images["results"]] == [flagged_result.image_id]
    image = client.get(reverse("api:image", args=[flagged_result.image_id])).json()
    assert image["file_url"].endswith(f"/images/{flagged_result.image_id}/file/")

    results = client.get(reverse("api:specimen_results", args=[specimen.pk])).json()
    assert [row["id"] for row in results["results"]] == [flagged_result.pk]
    result = client.get(reverse("api:result", args=[flagged_result.pk])).json()
    assert result["predicted_class"] == "Dyskeratotic"
    assert result["refer_to_cytologist"] is True and result["review"] is None


def test_doctor_reviews_signs_off_and_amends(api_as, doctor, specimen, flagged_result):
    client = api_as(doctor)
    reviewed = client.post(reverse("api:review", args=[flagged_result.pk]),
                           {"reviewed_class": "Parabasal"}, format="json")
    assert reviewed.status_code == 200, reviewed.json()
    assert reviewed.json()["accepted"] is False
    assert CellReview.objects.get(result=flagged_result).reviewed_class == "Parabasal"

    signed = client.post(reverse("api:sign_offs", args=[specimen.pk]),
                         {"adequacy": "satisfactory", "interpretation": "hsil", "comment": "see cell 1"}, format="json")
    assert signed.status_code == 201, signed.json()
    assert signed.json()["version"] == 1 and signed.json()["signed_by"] == doctor.username

    amended = client.post(reverse("api:amendments", args=[specimen.pk]), {
        "adequacy": "satisfactory", "interpretation": "asc_us", "amendment_reason": "second look",
    }, format="json")
    assert amended.status_code == 201, amended.json()

    history = client.get(reverse("api:sign_offs", args=[specimen.pk])).json()
    assert [row["version"] for row in history["results"]] == [2, 1]
    assert history["results"][0]["amendment_reason"] == "second look"


def test_a_cells_review_shows_the_reviewers_note(api_as, doctor, flagged_result):
    review.review_cell(flagged_result, doctor, "Parabasal", note="Crowded group, small nuclei")
    result = api_as(doctor).get(reverse("api:result", args=[flagged_result.pk])).json()
    assert result["review"]["note"] == "Crowded group, small nuclei"
    assert result["review"]["reviewed_class"] == "Parabasal"


def test_a_review_posted_through_the_api_keeps_its_note(api_as, doctor, flagged_result):
    url = reverse("api:review", args=[flagged_result.pk])
    client = api_as(doctor)
    posted = client.post(url, {"reviewed_class": "Parabasal", "note": "Small nuclei"}).json()
    assert posted["note"] == "Small nuclei"
    # A later review without a note field keeps the note; an empty one clears it.
    assert client.post(url, {"reviewed_class": "Parabasal"}).json()["note"] == "Small nuclei"
    assert client.post(url, {"reviewed_class": "Parabasal", "note": ""}).json()["note"] == ""


def test_sign_off_waits_for_flagged_cells_to_be_reviewed(api_as, doctor, specimen, flagged_result):
    response = api_as(doctor).post(reverse("api:sign_offs", args=[specimen.pk]),
                                   {"adequacy": "satisfactory", "interpretation": "nilm"}, format="json")
    assert response.status_code == 409
    assert "not reviewed yet" in response.json()["detail"]
    assert not SpecimenSignOff.objects.exists()


def test_a_signed_off_specimens_reviews_are_read_only(api_as, doctor, specimen, flagged_result):
    client = api_as(doctor)
    client.post(reverse("api:review", args=[flagged_result.pk]), {"reviewed_class": "Dyskeratotic"})
    client.post(reverse("api:sign_offs", args=[specimen.pk]), {"adequacy": "satisfactory", "interpretation": "hsil"})
    response = client.post(reverse("api:review", args=[flagged_result.pk]),
                           {"reviewed_class": "Parabasal"})
    assert response.status_code == 409
    assert "amend the sign-off" in response.json()["detail"]


def test_a_class_the_model_does_not_know_is_refused(api_as, doctor, flagged_result):
    response = api_as(doctor).post(reverse("api:review", args=[flagged_result.pk]),
                                   {"reviewed_class": "Koilocytotic"}, format="json")
    assert response.status_code == 400
    assert "reviewed_class" in response.json()


def test_an_amendment_needs_a_reason(api_as, doctor, specimen, flagged_result):
    client = api_as(doctor)
    client.post(reverse("api:review", args=[flagged_result.pk]), {"reviewed_class": "Dyskeratotic"})
    client.post(reverse("api:sign_offs", args=[specimen.pk]), {"adequacy": "satisfactory", "interpretation": "hsil"})
    response = client.post(reverse("api:amendments", args=[specimen.pk]),
                           {"adequacy": "satisfactory", "interpretation": "nilm"}, format="json")
    assert response.status_code == 400
    assert "amendment_reason" in response.json()


def test_a_json_body_that_is_not_an_object_is_refused_not_a_crash(api_as, doctor, lab_staff,
                                                                  specimen, flagged_result):
    # Found by tests/api/test_schemathesis.py: the forms expect a mapping.
    for user, url in [(lab_staff, reverse("api:patients")), (lab_staff, reverse("api:specimens")),
                      (doctor, reverse("api:review", args=[flagged_result.pk])),
                      (doctor, reverse("api:sign_offs", args=[specimen.pk])),
                      (doctor, reverse("api:amendments", args=[specimen.pk]))]:
        response = api_as(user).post(url, -18269, format="json")
        assert response.status_code == 400, url
        assert "The request body is a number; send the fields as a JSON object" in (
            response.json()["non_field_errors"][0])



def test_a_field_given_an_object_or_array_is_refused_not_a_crash(api_as, lab_staff):
    # Found by tests/api/test_schemathesis.py in CI: a form field's clean() calls .strip().
    response = api_as(lab_staff).post(reverse("api:patients"), {
        "mrn": {"nested": 1}, "full_name": ["a"], "date_of_birth": "1970-01-01"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "mrn": ["Send a single value (a string, number or true/false), not an object."],
        "full_name": ["Send a single value (a string, number or true/false), not an array."]}

def test_a_result_without_a_heatmap_has_a_null_heatmap_url(api_as, doctor, flagged_result):
    response = api_as(doctor).get(reverse("api:result", args=[flagged_result.pk]))
    assert response.json()["heatmap_url"] is None  # the schema says nullable since schemathesis


def test_a_cytotechnologist_reviews_cells_through_the_api_as_on_the_page(
        api_as, cytotechnologist, lab, specimen, flagged_result):
    Case.objects.create(specimen=specimen, lab=lab)  # in the screener's lab's queue
    url = reverse("api:review", args=[flagged_result.pk])
    response = api_as(cytotechnologist).post(url, {"reviewed_class": "Parabasal"})
    assert response.status_code == 200, response.json()
    assert response.json()["reviewer"] == cytotechnologist.username
