"""The API shows and refuses exactly what the pages do."""
import pytest
from django.urls import reverse

from diagnostics.models import CellReview, SpecimenSignOff


def test_lab_staff_cannot_sign_off(api_as, lab_staff, specimen, flagged_result):
    client = api_as(lab_staff)
    assert client.post(reverse("api:review", args=[flagged_result.pk]),
                       {"reviewed_class": "Parabasal"}).status_code == 403
    assert client.post(reverse("api:sign_offs", args=[specimen.pk]),
                       {"adequacy": "satisfactory", "interpretation": "nilm"}).status_code == 403
    assert client.post(reverse("api:amendments", args=[specimen.pk]),
                       {"adequacy": "satisfactory", "interpretation": "nilm", "amendment_reason": "x"}).status_code == 403
    assert not CellReview.objects.exists() and not SpecimenSignOff.objects.exists()


def test_administrators_cannot_sign_off(api_as, administrator, specimen, flagged_result):
    response = api_as(administrator).post(reverse("api:sign_offs", args=[specimen.pk]),
                                          {"adequacy": "satisfactory", "interpretation": "nilm"})
    assert response.status_code == 403


@pytest.fixture
def object_requests(specimen, flagged_result, patient):
    """(method, url, body) of every endpoint that names one record and that doctors may use
    (uploading is refused to every doctor with 403 before any lookup, like the page)."""
    return [
        ("get", reverse("api:patient", args=[patient.pk]), None),
        ("get", reverse("api:specimen", args=[specimen.pk]), None),
        ("get", reverse("api:specimen_images", args=[specimen.pk]), None),
        ("get", reverse("api:image", args=[flagged_result.image_id]), None),
        ("get", reverse("api:specimen_results", args=[specimen.pk]), None),
        ("get", reverse("api:result", args=[flagged_result.pk]), None),
        ("post", reverse("api:review", args=[flagged_result.pk]), {"reviewed_class": "Parabasal"}),
        ("get", reverse("api:sign_offs", args=[specimen.pk]), None),
        ("post", reverse("api:sign_offs", args=[specimen.pk]), {"adequacy": "satisfactory", "interpretation": "nilm"}),
        ("post", reverse("api:amendments", args=[specimen.pk]),
         {"adequacy": "satisfactory", "interpretation": "nilm", "amendment_reason": "x"}),
    ]


def test_another_doctors_records_are_404_everywhere(api_as, other_doctor, object_requests):
    client = api_as(other_doctor)
    statuses = {(method, url): getattr(client, method)(url, body).status_code
                for method, url, body in object_requests}
    assert set(statuses.values()) == {404}, statuses


def test_another_doctors_lists_are_empty(api_as, other_doctor, specimen):
    client = api_as(other_doctor)
    assert client.get(reverse("api:patients")).json()["count"] == 0
    assert client.get(reverse("api:specimens")).json()["count"] == 0


def test_lab_staff_cannot_add_a_specimen_to_a_patient_they_cannot_see(api_as, doctor, patient):
    # Doctors have no add_specimen permission at all: 403 before any lookup.
    response = api_as(doctor).post(reverse("api:specimens"), {
        "patient": patient.pk, "accession_number": "ACC-2", "collected_on": "2026-10-01"})
    assert response.status_code == 403
