"""The live microscope view: the page for those who may upload to the specimen, a camera frame
answered with its cells as JSON (nothing stored, one access entry per live session), a bad
frame refused by name, and a captured frame stored as a field-of-view upload."""
import io
import re

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse
from PIL import Image

from diagnostics.models import CellResult, SpecimenSignOff
from imaging import live
from imaging.models import FieldOfView, ImageAsset, UploadBatch
from tests.imaging.field_images import synthetic_field


def jpeg(image, quality=90):
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def frame_file(data=None, name="live.jpg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, jpeg(synthetic_field()) if data is None else data,
                              content_type="image/jpeg")


def live_url(name, specimen):
    return reverse(f"imaging:{name}", args=[specimen.pk])


def open_live_page(client, specimen):
    page = client.get(live_url("live", specimen))
    session = re.search(r'data-session="([^"]+)"', page.content.decode())
    return page, session.group(1) if session else None


def post_frame(client, specimen, session="", data=None):
    return client.post(live_url("live_frame", specimen),
                       {"frame": frame_file(data), "session": session})


def reads_of(specimen, user):
    return LogEntry.objects.filter(action=LogEntry.Action.ACCESS, actor=user,
                                   object_id=specimen.pk, content_type__model="specimen").count()


def test_lab_staff_open_the_live_page_with_its_controls(client_for, lab_staff, specimen):
    page, session = open_live_page(client_for(lab_staff), specimen)
    html = page.content.decode()
    assert page.status_code == 200 and session
    for control in ('<video id="live-video"', "Analyse every second", "Analyse now",
                    "Capture this field", "js/live_microscope.js"):
        assert control in html, control


def test_the_specimen_page_links_to_the_live_view_for_uploaders_only(
        client_for, lab_staff, doctor, specimen):
    link = live_url("live", specimen)
    assert link in client_for(lab_staff).get(specimen.get_absolute_url()).content.decode()
    assert link not in client_for(doctor).get(specimen.get_absolute_url()).content.decode()


@pytest.mark.parametrize("role", ["doctor", "cytotechnologist", "clinician", "administrator"])
def test_roles_that_may_not_upload_get_no_live_view(client_for, specimen, role, request):
    client = client_for(request.getfixturevalue(role))
    assert client.get(live_url("live", specimen)).status_code == 403
    assert post_frame(client, specimen).status_code == 403
    assert client.post(live_url("live_capture", specimen),
                       {"frame": frame_file()}).status_code == 403


def test_a_frame_is_answered_with_its_cells_and_nothing_is_stored(client_for, lab_staff,
                                                                  specimen):
    client = client_for(lab_staff)
    _, session = open_live_page(client, specimen)
    response = post_frame(client, specimen, session)
    answer = response.json()
    assert response.status_code == 200
    assert (answer["width"], answer["height"]) == (640, 480)
    assert answer["cells_classified"] == len(answer["cells"]) > 0
    assert answer["cells_found"] >= answer["cells_classified"]
    assert answer["server_ms"] >= 0 and answer["cell_limit"] == live.LIVE_MAX_CELLS
    class_names = {item["name"] for item in answer["classes"]}
    for cell in answer["cells"]:
        assert set(cell) >= {"x", "y", "radius", "class", "probability", "flagged"}
        assert 0 <= cell["x"] < 640 and 0 <= cell["y"] < 480 and cell["radius"] > 0
        assert cell["class"] in class_names and 0 < cell["probability"] <= 1
    assert not ImageAsset.objects.exists() and not CellResult.objects.exists()


def test_the_cells_classified_are_capped_and_the_answer_says_so(client_for, lab_staff,
                                                                specimen, monkeypatch):
    monkeypatch.setattr(live, "LIVE_MAX_CELLS", 2)
    answer = post_frame(client_for(lab_staff), specimen).json()
    assert answer["cells_classified"] == 2 and answer["cell_limit"] == 2
    assert answer["capped"] == (answer["cells_found"] > 2)


def test_cells_are_classified_only_while_the_time_budget_lasts(client_for, lab_staff,
                                                              specimen, monkeypatch):
    monkeypatch.setattr(live, "LIVE_TIME_BUDGET_SECONDS", 0)
    monkeypatch.setattr(live, "LIVE_CHUNK_CELLS", 3)
    answer = post_frame(client_for(lab_staff), specimen).json()
    assert answer["cells_classified"] == min(3, answer["cells_found"])  # one chunk at least
    assert answer["capped"] == (answer["cells_found"] > 3) and answer["time_budget_ms"] == 0


@pytest.mark.parametrize("data, reason", [
    (b"this is not a picture", "not an image Pillow can read"),
    (b"", "No frame was sent"),
    (jpeg(Image.new("RGB", (2400, 1800), (200, 200, 200))), "above the live view's limit"),
])
def test_a_bad_frame_is_refused_with_a_clear_message(client_for, lab_staff, specimen, data,
                                                     reason):
    client = client_for(lab_staff)
    if data:
        response = post_frame(client, specimen, data=data)
    else:
        response = client.post(live_url("live_frame", specimen), {"session": "x"})
    assert response.status_code == 400 and reason in response.json()["error"]
    assert reads_of(specimen, lab_staff) == 0  # a refused frame shows nothing


def test_one_access_entry_per_live_session_not_per_frame(client_for, lab_staff, specimen):
    client = client_for(lab_staff)
    _, session = open_live_page(client, specimen)
    for _ in range(3):
        assert post_frame(client, specimen, session).status_code == 200
    assert reads_of(specimen, lab_staff) == 1
    _, second_session = open_live_page(client, specimen)  # the page opened again: logged
    post_frame(client, specimen, second_session)
    assert reads_of(specimen, lab_staff) == 2
    post_frame(client, specimen, "a-session-this-login-never-had")  # unknown: logged once
    post_frame(client, specimen, "a-session-this-login-never-had")
    assert reads_of(specimen, lab_staff) == 3


def test_a_long_live_session_is_logged_again_after_the_poll_window(client_for, lab_staff,
                                                                   specimen, settings):
    settings.AUDIT_POLL_READ_MINUTES = 0
    client = client_for(lab_staff)
    _, session = open_live_page(client, specimen)
    post_frame(client, specimen, session)
    assert reads_of(specimen, lab_staff) == 2


def test_a_patient_without_consent_gets_no_analysis_and_no_capture(client_for, lab_staff,
                                                                   specimen):
    specimen.patient.consent_given = False
    specimen.patient.save()
    client = client_for(lab_staff)
    page, session = open_live_page(client, specimen)
    assert "has not consented" in page.content.decode() and session is None
    refused = post_frame(client, specimen)
    assert refused.status_code == 403 and "has not consented" in refused.json()["error"]
    captured = client.post(live_url("live_capture", specimen), {"frame": frame_file()})
    assert captured.status_code == 403 and "has not consented" in captured.json()["error"]
    assert not ImageAsset.objects.exists()


def test_frames_need_the_csrf_token(lab_staff, specimen):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lab_staff)
    assert post_frame(client, specimen).status_code == 403
    assert client.post(live_url("live_capture", specimen),
                       {"frame": frame_file()}).status_code == 403


def test_capture_stores_the_frame_as_a_field_upload_queued_for_the_worker(
        client_for, lab_staff, specimen):
    response = client_for(lab_staff).post(live_url("live_capture", specimen),
                                          {"frame": frame_file()})
    answer = response.json()
    image = ImageAsset.objects.get()
    field = FieldOfView.objects.get()
    assert response.status_code == 201 and answer["stored"]
    assert image.kind == "field" and image.uploaded_by == lab_staff
    assert re.fullmatch(r"live-\d{8}-\d{6}\.jpg", image.original_name)
    assert field.image == image and field.status == "queued"
    assert UploadBatch.objects.get().content == "field" and image.upload_batch is not None
    assert answer["field_url"] == reverse("imaging:field", args=[specimen.pk, field.pk])
    assert LogEntry.objects.filter(action=LogEntry.Action.CREATE, object_id=image.pk,
                                   content_type__model="imageasset", actor=lab_staff).exists()


def test_the_same_picture_captured_twice_is_stored_once(client_for, lab_staff, specimen):
    client = client_for(lab_staff)
    client.post(live_url("live_capture", specimen), {"frame": frame_file()})
    again = client.post(live_url("live_capture", specimen), {"frame": frame_file()})
    assert again.status_code == 200 and not again.json()["stored"]
    assert ImageAsset.objects.count() == 1


def test_a_signed_off_specimen_takes_no_capture(client_for, lab_staff, doctor, specimen):
    SpecimenSignOff.objects.create(specimen=specimen, interpretation="nilm", signed_by=doctor)
    client = client_for(lab_staff)
    page, _ = open_live_page(client, specimen)
    assert "Capture this field" not in page.content.decode()
    refused = client.post(live_url("live_capture", specimen), {"frame": frame_file()})
    assert refused.status_code == 409 and "signed off" in refused.json()["error"].lower()
    assert not ImageAsset.objects.exists()


def test_the_live_page_keeps_the_strict_content_security_policy(client_for, lab_staff,
                                                               specimen):
    page, _ = open_live_page(client_for(lab_staff), specimen)
    html = page.content.decode()
    assert "Content-Security-Policy" in page
    assert not re.search(r"<script\b(?![^>]*\bsrc=)", html)  # every script is a file
    assert not re.search(r"\son[a-z]+=", html) and " style=" not in html
