"""Input the API and pages must refuse or neutralise: huge free text, booleans as ids,
names that reorder their own text, images too small to hold a cell, oversized bodies."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from diagnostics import review
from diagnostics.models import FREE_TEXT_MAX_LENGTH, SpecimenSignOff
from imaging.models import ImageAsset, Specimen, UploadBatch
from tests.conftest import SAMPLE_CELLS_DIR, zip_of

NILM = {"adequacy": "satisfactory", "interpretation": "nilm"}

RLO_NAME = "x\u202eexe.png"  # displays as "xgnp.exe"
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


@pytest.fixture
def signed_off(specimen, doctor):
    return SpecimenSignOff.objects.create(specimen=specimen, interpretation="nilm",
                                          signed_by=doctor)


def png(size):
    buffer = io.BytesIO()
    Image.new("RGB", size, "purple").save(buffer, "PNG")
    return buffer.getvalue()


def test_a_2mb_amendment_reason_is_refused_in_the_api(api_as, doctor, specimen, signed_off):
    response = api_as(doctor).post(reverse("api:amendments", args=[specimen.pk]), {
        "adequacy": "satisfactory", "interpretation": "asc_us", "amendment_reason": "x" * 2_000_000}, format="json")
    assert response.status_code == 400
    assert f"at most {FREE_TEXT_MAX_LENGTH} characters" in response.json()["amendment_reason"][0]
    assert SpecimenSignOff.objects.count() == 1


def test_a_too_long_amendment_reason_or_comment_is_refused_on_the_page(
        client_for, doctor, specimen, signed_off):
    response = client_for(doctor).post(reverse("diagnostics:amend", args=[specimen.pk]), {
        "adequacy": "satisfactory", "interpretation": "asc_us", "amendment_reason": "x" * (FREE_TEXT_MAX_LENGTH + 1),
        "comment": "ok"}, follow=True)
    assert "The amendment is not signed" in response.content.decode()
    assert SpecimenSignOff.objects.count() == 1


def test_the_services_refuse_too_long_text_too(doctor, specimen, signed_off):
    with pytest.raises(review.ReviewRefused, match="at most 2000 characters"):
        review.amend_sign_off(specimen, doctor, "x" * 2001, **NILM)
    with pytest.raises(review.ReviewRefused, match="at most 2000 characters"):
        review.reopen_specimen(specimen, doctor, "x" * 2001)
    review.amend_sign_off(specimen, doctor, "x" * 2000, comment="y" * 2000, **NILM)


@pytest.mark.parametrize("patient_id", [True, False, 1.0, "1.5", [1], ""])
def test_a_patient_id_must_be_a_whole_number(api_as, lab_staff, patient, patient_id):
    assert patient.pk == 1  # "patient": true used to choose this patient
    response = api_as(lab_staff).post(reverse("api:specimens"), {
        "patient": patient_id, "accession_number": "ACC-9", "collected_on": "2026-11-01"},
        format="json")
    assert response.status_code == 400
    assert "patient" in response.json()
    assert not Specimen.objects.filter(accession_number="ACC-9").exists()


@pytest.mark.parametrize("patient_id", [1, "1"])
def test_a_patient_id_as_a_number_or_digits_is_accepted(api_as, lab_staff, patient, patient_id,
                                                        lab, clinician):
    lab.members.add(lab_staff)
    response = api_as(lab_staff).post(reverse("api:specimens"), {
        "patient": patient_id, "accession_number": "ACC-9", "collected_on": "2026-11-01",
        "lab": lab.pk, "ordering_clinician": clinician.pk, "specimen_type": "conventional"},
        format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("channel", ["page", "api"])
def test_bidi_controls_in_names_are_neutralised_on_pages_and_in_the_api(
        client_for, api_as, lab_staff, doctor, specimen, channel):
    # Django drops them from a multipart file name; names inside a .zip arrive as written.
    names = [RLO_NAME, f"all{BIDI_CONTROLS}.png", "y\u202egnp.exe"]  # the last one is refused
    archive = zip_of([(name, png((40 + i, 40))) for i, name in enumerate(names)])
    if channel == "page":
        client_for(lab_staff).post(reverse("imaging:upload", args=[specimen.pk]),
                                   {"files": [archive]})
    else:
        api_as(lab_staff).post(reverse("api:specimen_images", args=[specimen.pk]),
                               {"files": [archive]}, format="multipart")
    stored = sorted(ImageAsset.objects.values_list("original_name", flat=True))
    assert stored == [f"cells.zip/all{chr(0xFFFD) * len(BIDI_CONTROLS)}.png",
                      "cells.zip/x\ufffdexe.png"]
    [rejection] = UploadBatch.objects.get().rejections
    assert rejection["file"] == "cells.zip/y\ufffdgnp.exe"
    page = client_for(doctor).get(reverse("imaging:specimen", args=[specimen.pk]))
    api = api_as(doctor).get(reverse("api:specimen_images", args=[specimen.pk]))
    assert "x\ufffdexe.png" in page.content.decode()
    assert "cells.zip/x\ufffdexe.png" in [row["original_name"] for row in api.json()["results"]]
    for shown in (page.content.decode(), api.content.decode()):
        assert not any(control in shown for control in BIDI_CONTROLS)
        assert "\\u202e" not in shown.lower()  # nor escaped in JSON


def test_an_image_too_small_to_hold_a_cell_is_refused_by_name(
        client_for, lab_staff, specimen, settings):
    files = [SimpleUploadedFile("dot.png", png((1, 1))), SimpleUploadedFile("strip.png", png((500, 31)))]
    response = client_for(lab_staff).post(reverse("imaging:upload", args=[specimen.pk]),
                                          {"files": files}, follow=True)
    page = response.content.decode()
    assert "dot.png" in page and "strip.png" in page
    assert f"at least {settings.UPLOAD_MIN_IMAGE_SIDE} pixels" in page
    assert not ImageAsset.objects.exists()


def test_the_demo_cells_are_above_the_minimum_side(settings):
    sides = [min(Image.open(path).size) for path in SAMPLE_CELLS_DIR.glob("*.png")]
    assert len(sides) == 30 and min(sides) >= settings.UPLOAD_MIN_IMAGE_SIDE


def test_an_oversized_json_body_gets_a_json_400(api_as, doctor, specimen, signed_off, settings):
    body = {"adequacy": "satisfactory", "interpretation": "nilm", "amendment_reason": "x" * (
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    response = api_as(doctor).post(reverse("api:amendments", args=[specimen.pk]), body,
                                   format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "larger than the API accepts" in response.json()["detail"]


def test_names_stored_before_are_neutralised_by_the_migration(specimen):
    from importlib import import_module

    from django.apps import apps
    migration = import_module("imaging.migrations.0005_neutralise_bidi_names")
    image = ImageAsset.objects.create(
        specimen=specimen, file="specimens/1/a.png", original_name=RLO_NAME, sha256="a" * 64,
        image_format="PNG", width=40, height=40, size_bytes=1)
    migration.neutralise_stored_names(apps, None)
    image.refresh_from_db()
    assert image.original_name == "x\ufffdexe.png"
