"""A signed-off specimen is closed: no uploads, no reviews, until a doctor re-opens it with a
reason; the next sign-off is then an amendment giving that reason."""
import pytest
from auditlog.models import LogEntry
from django.core.cache import cache
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from diagnostics.models import CellReview, SpecimenReopening, SpecimenSignOff
from imaging.models import ImageAsset, Specimen

PROBABILITIES = {"Dyskeratotic": 0.45, "Koilocytotic": 0.35, "Parabasal": 0.2}


@pytest.fixture
def api_as(db):
    """An API client sending the user's token; throttle counts start from zero."""
    cache.clear()

    def client_of(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0]}")
        return client
    return client_of


@pytest.fixture
def signed_off(specimen, doctor, make_result):
    """A specimen with one confident cell, signed off (version 1)."""
    make_result(specimen, {"Parabasal": 0.97, "Dyskeratotic": 0.03})
    SpecimenSignOff.objects.create(specimen=specimen, interpretation="nilm", signed_by=doctor)
    return specimen


def upload_page(client, specimen, files):
    return client.post(reverse("imaging:upload", args=[specimen.pk]), {"files": files},
                       follow=True)


def reopen_page(client, specimen, reason):
    return client.post(reverse("diagnostics:reopen", args=[specimen.pk]), {"reason": reason},
                       follow=True)


def test_a_signed_off_specimen_refuses_uploads_on_the_page(
        client_for, lab_staff, signed_off, sample_upload):
    response = upload_page(client_for(lab_staff), signed_off, sample_upload(2))
    page = response.content.decode()
    assert "is signed off" in page and "re-open" in page
    assert not ImageAsset.objects.filter(upload_batch__isnull=False).exists()
    assert signed_off.images.count() == 1  # only the cell the signature saw


def test_a_signed_off_specimen_refuses_uploads_in_the_api(
        api_as, lab_staff, signed_off, sample_upload):
    response = api_as(lab_staff).post(reverse("api:specimen_images", args=[signed_off.pk]),
                                      {"files": sample_upload(1)}, format="multipart")
    assert response.status_code == 409
    assert "is signed off" in response.json()["detail"]
    assert signed_off.images.count() == 1


def test_a_signed_off_specimen_refuses_cell_reviews_on_the_page_and_in_the_api(
        client_for, api_as, doctor, signed_off, make_result):
    late = make_result(signed_off, PROBABILITIES, refer=True)  # e.g. a re-run after sign-off
    url = reverse("diagnostics:review_cell", args=[signed_off.pk, late.pk])
    page = client_for(doctor).post(url, {"reviewed_class": "Parabasal"}, follow=True)
    assert "is signed off" in page.content.decode()
    api = api_as(doctor).post(reverse("api:review", args=[late.pk]),
                              {"reviewed_class": "Parabasal"}, format="json")
    assert api.status_code == 409 and "re-open" in api.json()["detail"]
    assert not CellReview.objects.exists()


def test_lab_staff_cannot_reopen(client_for, lab_staff, signed_off):
    response = client_for(lab_staff).post(reverse("diagnostics:reopen", args=[signed_off.pk]),
                                          {"reason": "more cells"})
    assert response.status_code == 403
    assert not SpecimenReopening.objects.exists()


def test_reopening_needs_a_reason(client_for, api_as, doctor, signed_off):
    assert "needs a reason" in reopen_page(client_for(doctor), signed_off, "  ").content.decode()
    response = api_as(doctor).post(reverse("api:reopenings", args=[signed_off.pk]),
                                   {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert not SpecimenReopening.objects.exists()


def test_an_open_specimen_cannot_be_reopened(api_as, doctor, specimen):
    response = api_as(doctor).post(reverse("api:reopenings", args=[specimen.pk]),
                                   {"reason": "more cells"}, format="json")
    assert response.status_code == 409


def test_reopening_is_recorded_and_audited(client_for, doctor, signed_off):
    reopen_page(client_for(doctor), signed_off, "Second slide from the same smear")
    reopening = SpecimenReopening.objects.get()
    assert (reopening.specimen, reopening.reopened_by, reopening.reopened_version) == (
        signed_off, doctor, 1)
    assert reopening.reason == "Second slide from the same smear"
    entry = LogEntry.objects.get_for_object(reopening).get()
    assert entry.actor == doctor
    assert Specimen.objects.get(pk=signed_off.pk).awaiting_sign_off  # back on the worklist


def test_after_reopening_the_next_sign_off_is_an_amendment_with_the_reason(
        client_for, api_as, doctor, lab_staff, signed_off, sample_upload, make_result):
    client = client_for(doctor)
    reopen_page(client, signed_off, "Second slide from the same smear")
    assert "stored and queued" in upload_page(
        client_for(lab_staff), signed_off, sample_upload(1)).content.decode()
    ImageAsset.objects.filter(upload_batch__isnull=False).get().results.update(
        status="done", predicted_class="Parabasal", probabilities=PROBABILITIES,
        refer_to_cytologist=True)
    doctor_api = api_as(doctor)
    sign_offs = reverse("api:sign_offs", args=[signed_off.pk])
    blocked = doctor_api.post(sign_offs, {"adequacy": "satisfactory", "interpretation": "hsil"}, format="json")
    assert blocked.status_code == 409 and "not reviewed yet" in blocked.json()["detail"]
    new_cell = ImageAsset.objects.filter(upload_batch__isnull=False).get().results.get()
    assert doctor_api.post(reverse("api:review", args=[new_cell.pk]),
                           {"reviewed_class": "Dyskeratotic"}, format="json").status_code == 200
    signed = doctor_api.post(sign_offs, {"adequacy": "satisfactory", "interpretation": "hsil"}, format="json")
    assert signed.status_code == 201, signed.json()
    assert signed.json()["version"] == 2
    assert signed.json()["amendment_reason"] == "Second slide from the same smear"
    assert SpecimenSignOff.objects.get(version=2).is_amendment
    # Closed again: the amendment saw every cell, and nothing new gets in.
    refused = api_as(lab_staff).post(reverse("api:specimen_images", args=[signed_off.pk]),
                                     {"files": sample_upload(1, start=3)}, format="multipart")
    assert refused.status_code == 409
