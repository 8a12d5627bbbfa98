import pytest
from auditlog.models import LogEntry
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.urls import reverse

import imaging.uploads
from diagnostics.models import CellResult
from imaging.models import ImageAsset, UploadBatch
from imaging.uploads import store_upload


def upload(client, specimen, files):
    return client.post(reverse("imaging:upload", args=[specimen.pk]), {"files": files}, follow=True)


def stored_files(media_root):
    return sorted(p.name for p in media_root.rglob("*") if p.is_file())


def test_lab_staff_uploads_many_images_at_once(client_for, lab_staff, specimen, sample_upload):
    response = upload(client_for(lab_staff), specimen, sample_upload(3))
    assert "3 image(s) stored and queued for classification" in response.content.decode()
    images = ImageAsset.objects.filter(specimen=specimen)
    assert images.count() == 3
    assert all(default_storage.exists(image.file.name) for image in images)
    assert CellResult.objects.filter(image__in=images, status="queued").count() == 3


def test_broken_file_is_reported_by_name_and_the_rest_stored(
    client_for, lab_staff, specimen, sample_upload, truncated_png, media_in_tmp
):
    response = upload(client_for(lab_staff), specimen, sample_upload(3) + [truncated_png])
    page = response.content.decode()
    assert "broken_cell.png" in page and "truncated or corrupt" in page
    assert ImageAsset.objects.count() == 3
    assert len(stored_files(media_in_tmp)) == 6  # 3 images, 3 thumbnails: none of the broken file
    batch = UploadBatch.objects.get()
    assert batch.stored_count == 3 and batch.rejections[0]["file"] == "broken_cell.png"


def test_zip_upload_is_unpacked(client_for, lab_staff, specimen, sample_cell_paths, make_zip):
    archive = make_zip([(f"folder/{p.name}", p.read_bytes()) for p in sample_cell_paths[:4]]
                       + [("notes.txt", b"not an image")])
    page = upload(client_for(lab_staff), specimen, [archive]).content.decode()
    assert ImageAsset.objects.count() == 4
    assert "cells.zip/notes.txt" in page and "not an image Pillow can read" in page



def test_invalid_zip_is_reported(client_for, lab_staff, specimen, make_zip):
    from django.core.files.uploadedfile import SimpleUploadedFile
    fake = SimpleUploadedFile("batch.zip", b"PK not really")
    page = upload(client_for(lab_staff), specimen, [fake]).content.decode()
    assert "batch.zip" in page and "not a valid .zip archive" in page


def test_duplicate_in_specimen_is_reported_not_stored_twice(client_for, lab_staff, specimen, sample_upload):
    client = client_for(lab_staff)
    upload(client, specimen, sample_upload(2))
    page = upload(client, specimen, sample_upload(3)).content.decode()
    assert ImageAsset.objects.count() == 3
    assert "1 image(s) stored" in page and "2 already in this specimen, not stored again" in page


def test_doctor_cannot_upload(client_for, doctor, specimen, sample_upload):
    response = client_for(doctor).post(reverse("imaging:upload", args=[specimen.pk]),
                                       {"files": sample_upload(1)})
    assert response.status_code == 403
    assert ImageAsset.objects.count() == 0


def test_upload_is_audited_with_the_actor(client_for, lab_staff, specimen, sample_upload):
    upload(client_for(lab_staff), specimen, sample_upload(1))
    entry = LogEntry.objects.get(content_type__model="imageasset", action=LogEntry.Action.CREATE)
    assert entry.actor == lab_staff


def test_lab_staff_creates_a_specimen(client_for, lab_staff, patient, lab, clinician):
    lab.members.add(lab_staff)
    response = client_for(lab_staff).post(
        reverse("imaging:specimen_create", args=[patient.pk]),
        {"accession_number": "acc-9", "collected_on": "2026-11-02", "lab": lab.pk,
         "ordering_clinician": clinician.pk, "specimen_type": "liquid_based",
         "hpv_result": "not_done"},
    )
    specimen = patient.specimens.get()
    assert response["Location"] == specimen.get_absolute_url()
    assert specimen.accession_number == "ACC-9"


def test_image_file_is_served_only_to_those_who_may_see_it(
    client_for, lab_staff, doctor, other_doctor, specimen, sample_upload
):
    upload(client_for(lab_staff), specimen, sample_upload(1))
    url = reverse("imaging:image_file", args=[ImageAsset.objects.get().pk])
    assert client_for(doctor).get(url).status_code == 200
    assert client_for(other_doctor).get(url).status_code == 404


def test_a_file_that_fails_to_store_leaves_nothing_behind(
    client_for, lab_staff, specimen, sample_upload, media_in_tmp, monkeypatch
):
    real_save = ImageAsset.save
    calls = []

    def fail_on_second_image(image, *args, **kwargs):
        calls.append(image)
        if len(calls) == 2:
            raise DatabaseError("disk I/O error")
        return real_save(image, *args, **kwargs)

    monkeypatch.setattr(ImageAsset, "save", fail_on_second_image)
    page = upload(client_for(lab_staff), specimen, sample_upload(3)).content.decode()
    assert "could not be stored (disk I/O error)" in page
    assert ImageAsset.objects.count() == 2 and CellResult.objects.count() == 2
    assert len(stored_files(media_in_tmp)) == 4  # the failed row's image and thumbnail are gone


def test_images_are_not_stored_when_they_cannot_be_queued(
    client_for, lab_staff, specimen, sample_upload, media_in_tmp, monkeypatch
):
    def queue_fails(images):
        raise DatabaseError("database or disk is full")

    monkeypatch.setattr(imaging.uploads, "queue_for_classification", queue_fails)
    page = upload(client_for(lab_staff), specimen, sample_upload(2)).content.decode()
    assert page.count("could not be stored (database or disk is full)") == 2
    assert ImageAsset.objects.count() == 0 and CellResult.objects.count() == 0
    assert stored_files(media_in_tmp) == []
    assert UploadBatch.objects.get().stored_count == 0


def test_an_unforeseen_error_midway_leaves_no_bytes_behind(
    lab_staff, specimen, sample_upload, media_in_tmp, monkeypatch
):
    real_save = imaging.uploads.save_image_bytes
    calls = []

    def crash_on_second_file(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("storage driver bug")
        return real_save(*args)

    monkeypatch.setattr(imaging.uploads, "save_image_bytes", crash_on_second_file)
    with pytest.raises(RuntimeError):
        store_upload(specimen, lab_staff, sample_upload(3))
    assert stored_files(media_in_tmp) == []
    assert ImageAsset.objects.count() == 0 and CellResult.objects.count() == 0
