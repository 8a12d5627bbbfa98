"""Whole slides of several files: a DICOM WSI (a .zip of its instances, or its .dcm files
chosen together) and a MIRAX slide (a .zip of its .mrxs file and folder), generated as the
engine tests do, stored part by part under one folder and scanned by the worker from a local
copy, also where the storage has no paths (S3); a .zip whose parts make no slide refused by
name while the rest of the batch is stored; the parts gone with a failed upload or an erasure.
"""
import html
import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.urls import reverse

from diagnostics import tasks
from diagnostics.engine.synthetic_slide import SlideLayout, write_dicom_wsi, write_mirax
from imaging.models import FieldOfView, ImageAsset
from imaging.slide_parts import local_slide_path, stored_names_of
from patients.gdpr import erase_patient
from tests.imaging.field_images import png_upload, synthetic_field
from tests.imaging.pathless_storage import PathlessStorage


def demo_layout():
    """1,500 x 1,100 px: four fields of demo cells on glass."""
    fields = [synthetic_field(seed=6 * index) for index in range(4)]
    return SlideLayout.grid(fields, width=1500, height=1100, gap=60)


@pytest.fixture(scope="module")
def dicom_folder(tmp_path_factory):
    """A DICOM WSI of two levels (an instance each)."""
    return write_dicom_wsi(tmp_path_factory.mktemp("dicom") / "scan", demo_layout(), mpp=0.275)


@pytest.fixture(scope="module")
def mirax_members(tmp_path_factory):
    """A MIRAX slide as a scanner's export is zipped: "Scan 1.mrxs" and its folder."""
    slide = write_mirax(tmp_path_factory.mktemp("mirax") / "Scan 1.mrxs", demo_layout(),
                        mpp=0.275)
    members = {f"export/{slide.name}": slide.read_bytes()}
    members.update({f"export/Scan 1/{part.name}": part.read_bytes()
                    for part in slide.with_suffix("").iterdir()})
    return members


def zip_upload(name, members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


def dicom_members(folder, prefix="scan/"):
    return {f"{prefix}{path.name}": path.read_bytes() for path in sorted(folder.iterdir())}


def upload(client, specimen, files):
    page = client.post(reverse("imaging:upload", args=[specimen.pk]),
                       {"files": files, "content": "auto"}, follow=True)
    return html.unescape(page.content.decode())


def stored_files(storage, folder):
    folders, files = storage.listdir(folder)
    return [f"{folder}/{name}" for name in files] + [
        name for sub in folders for name in stored_files(storage, f"{folder}/{sub}")]


@pytest.fixture
def storage_without_paths(settings):
    """Storage as S3 behaves here: no local paths, so the worker must fetch every part."""
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "tests.imaging.pathless_storage.PathlessStorage"}}
    assert isinstance(default_storage, PathlessStorage)
    return default_storage


def test_a_dicom_wsi_zip_is_stored_in_parts_and_scanned_from_a_local_copy(
        client_for, lab_staff, specimen, dicom_folder, storage_without_paths, tmp_path,
        monkeypatch):
    page = upload(client_for(lab_staff), specimen,
                  [zip_upload("scan.zip", dicom_members(dicom_folder))])
    assert "1 whole slide(s) stored" in page
    [slide] = ImageAsset.objects.all()
    assert (slide.kind, slide.image_format, slide.original_name) == ("slide", "DICOM", "scan.zip")
    assert (slide.width, slide.height) == (1500, 1100)
    parts = stored_names_of(default_storage, slide.file.name)
    assert sorted(name.rsplit("/", 1)[1] for name in parts) == [
        "instance-0000.dcm", "instance-0001.dcm"]
    assert slide.size_bytes == sum(path.stat().st_size for path in dicom_folder.iterdir())

    temporary = tmp_path / "worker-tmp"
    temporary.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temporary))
    tasks.find_cells_in_fields([slide.field_of_view.pk])
    scan = FieldOfView.objects.get()
    assert scan.status == "done", scan.error
    assert scan.tiles_done == scan.tiles_total > 0 and scan.cells_found > 0
    assert not list(temporary.iterdir())  # the local copy of the parts is gone


def test_a_mirax_zip_is_stored_with_its_folder_and_scanned(client_for, lab_staff, specimen,
                                                           mirax_members):
    page = upload(client_for(lab_staff), specimen, [zip_upload("mirax.zip", mirax_members)])
    assert "1 whole slide(s) stored" in page
    [slide] = ImageAsset.objects.all()
    assert (slide.image_format, slide.width, slide.height) == ("MRXS", 1536, 1280)
    folder = slide.file.name.rsplit("/", 1)[0]
    assert sorted(name[len(folder) + 1:] for name in
                  stored_names_of(default_storage, slide.file.name)) == [
        "slide.mrxs", "slide/Data0000.dat", "slide/Index.dat", "slide/Slidedat.ini"]

    tasks.find_cells_in_fields([slide.field_of_view.pk])
    scan = FieldOfView.objects.get()
    assert scan.status == "done", scan.error
    assert scan.cells_found > 0


def test_a_mirax_zip_missing_a_data_file_is_refused_by_name(client_for, lab_staff, specimen,
                                                            mirax_members):
    members = {name: data for name, data in mirax_members.items()
               if not name.endswith("Data0000.dat")}
    page = upload(client_for(lab_staff), specimen, [zip_upload("mirax.zip", members)])
    assert not ImageAsset.objects.exists()
    assert ("mirax.zip</strong>: missing data files: Data0000.dat is not in the slide's "
            "folder") in page


def test_the_dcm_files_of_one_upload_are_one_slide(client_for, lab_staff, specimen,
                                                   dicom_folder):
    files = [SimpleUploadedFile(path.name, path.read_bytes())
             for path in sorted(dicom_folder.iterdir())]
    page = upload(client_for(lab_staff), specimen, files)
    assert "1 whole slide(s) stored" in page
    [slide] = ImageAsset.objects.all()
    assert slide.original_name == "level-0.dcm and 1 more .dcm file(s)"
    assert len(stored_names_of(default_storage, slide.file.name)) == 2


def test_the_dcm_files_of_two_slides_uploaded_together_are_refused(
        client_for, lab_staff, specimen, dicom_folder, tmp_path):
    other = write_dicom_wsi(tmp_path / "other", SlideLayout.grid(
        [synthetic_field(seed=1)], width=800, height=600), mpp=0.275)
    files = [SimpleUploadedFile(f"{folder.name}-{path.name}", path.read_bytes())
             for folder in (dicom_folder, other) for path in sorted(folder.iterdir())]
    page = upload(client_for(lab_staff), specimen, files)
    assert not ImageAsset.objects.exists()
    assert "its .dcm files are the instances of 2 slides (DICOM series)" in page


def test_a_zip_with_a_broken_part_is_refused_by_name_and_the_batch_goes_on(
        client_for, lab_staff, specimen, dicom_folder):
    members = dicom_members(dicom_folder)
    members["scan/level-0.dcm"] = members["scan/level-0.dcm"][:400_000]  # cut off mid-frames
    page = upload(client_for(lab_staff), specimen,
                  [zip_upload("broken.zip", members), png_upload("field.png", synthetic_field())])
    assert list(ImageAsset.objects.values_list("original_name", "kind")) == [("field.png", "field")]
    assert "broken.zip is not a whole-slide image OpenSlide can read" in page
    assert "some of its data is missing or broken" in page
    assert not [name for name in stored_files(default_storage, f"specimens/{specimen.pk}")
                if ".slide/" in name]


def fake_mrxs(data_files=("Index.dat", "Data0000.dat", "Data0001.dat"), folder="scan/",
              second_file="Data0001.dat"):
    members = {"scan.mrxs": b"[GENERAL]\n"}
    ini = ("[HIERARCHICAL]\nINDEXFILE=Index.dat\n[DATAFILE]\nFILE_COUNT=2\n"
           f"FILE_0=Data0000.dat\nFILE_1={second_file}\n")
    if folder is not None:
        members[f"{folder}Slidedat.ini"] = ini.encode()
        members.update({f"{folder}{name}": b"\0" * 64 for name in data_files})
    return members


@pytest.mark.parametrize("members, reason", [
    (fake_mrxs(folder=None), "missing data files: scan.mrxs needs its folder 'scan'"),
    (fake_mrxs(data_files=("Index.dat", "Data0000.dat")),
     "missing data files: Data0001.dat is not in the slide's folder"),
    ({**fake_mrxs(), "other.mrxs": b""}, "it holds 2 .mrxs slides"),
    (fake_mrxs(second_file="../../../etc/passwd"),
     "its Slidedat.ini names ../../../etc/passwd, a file outside the slide's folder"),
    ({"../escape.dcm": b"DICM"}, "the path of ../escape.dcm in the archive is absolute or "
                                 "climbs out with '..'"),
])
def test_a_zip_whose_parts_make_no_slide_is_refused_by_name(
        client_for, lab_staff, specimen, members, reason):
    page = upload(client_for(lab_staff), specimen,
                  [zip_upload("slide.zip", members), png_upload("field.png", synthetic_field())])
    assert list(ImageAsset.objects.values_list("original_name", flat=True)) == ["field.png"]
    assert f"slide.zip</strong>: {reason}" in page


def test_a_slide_zip_unpacking_past_the_limit_is_refused_before_it_is_unpacked(
        client_for, lab_staff, specimen, dicom_folder, settings):
    settings.UPLOAD_MAX_SLIDE_BYTES = 1_000_000  # the zip is small; its parts are not
    members = {"scan/level-0.dcm": bytes(2_000_000), "scan/level-1.dcm": b""}
    page = upload(client_for(lab_staff), specimen, [zip_upload("bomb.zip", members)])
    assert not ImageAsset.objects.exists()
    assert "bomb.zip</strong>: it unpacks to more than the whole-slide limit" in page


def test_a_lone_mrxs_file_is_refused_with_how_to_upload_it(client_for, lab_staff, specimen):
    page = upload(client_for(lab_staff), specimen, [SimpleUploadedFile("scan.mrxs", b"x")])
    assert not ImageAsset.objects.exists()
    assert "zip the .mrxs file together with that folder" in page


def test_no_part_is_left_stored_when_the_slide_rows_cannot_be_saved(
        client_for, lab_staff, specimen, dicom_folder, monkeypatch):
    def fail(images, batch):
        raise DatabaseError("disk full")

    monkeypatch.setattr("imaging.uploads.save_image_rows", fail)
    upload(client_for(lab_staff), specimen, [zip_upload("scan.zip", dicom_members(dicom_folder))])
    assert not ImageAsset.objects.exists()
    assert stored_files(default_storage, f"specimens/{specimen.pk}") == []


def test_erasing_the_patient_removes_every_part_of_their_slides(
        client_for, lab_staff, administrator, specimen, dicom_folder,
        django_capture_on_commit_callbacks):
    upload(client_for(lab_staff), specimen, [zip_upload("scan.zip", dicom_members(dicom_folder))])
    assert len(stored_files(default_storage, f"specimens/{specimen.pk}")) == 3  # + thumbnail
    with django_capture_on_commit_callbacks(execute=True):
        erase_patient(specimen.patient, administrator)
    assert stored_files(default_storage, f"specimens/{specimen.pk}") == []
    folders, _ = default_storage.listdir(f"specimens/{specimen.pk}")
    assert not [folder for folder in folders if folder.endswith(".slide")]  # none left empty


def test_a_slide_folder_with_subfolders_is_copied_whole_from_storage_without_paths(
        storage_without_paths):
    folder = "specimens/1/abc.slide"
    for name in ("slide.mrxs", "slide/Slidedat.ini", "slide/Data0000.dat"):
        storage_without_paths.save(f"{folder}/{name}", ContentFile(name.encode()))
    image = ImageAsset(file=f"{folder}/slide.mrxs")
    with local_slide_path(image.file) as path:
        root = Path(path).parent
        copied = {part.relative_to(root).as_posix(): part.read_bytes()
                  for part in root.rglob("*") if part.is_file()}
    assert copied == {name: name.encode() for name in
                      ("slide.mrxs", "slide/Slidedat.ini", "slide/Data0000.dat")}
    assert not root.exists()


def test_a_slide_whose_scan_fails_keeps_its_parts_and_leaves_no_local_copy(
        client_for, lab_staff, specimen, dicom_folder, storage_without_paths, tmp_path,
        monkeypatch):
    upload(client_for(lab_staff), specimen, [zip_upload("scan.zip", dicom_members(dicom_folder))])
    [slide] = ImageAsset.objects.all()

    def fail(*args, **kwargs):
        raise RuntimeError("the detector ran out of memory")

    monkeypatch.setattr("diagnostics.slide_cells.scan_cells", fail)
    temporary = tmp_path / "worker-tmp"
    temporary.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temporary))
    tasks.find_cells_in_fields([slide.field_of_view.pk])
    scan = FieldOfView.objects.get()
    assert scan.status == "failed" and "ran out of memory" in scan.error
    assert not list(temporary.iterdir())
    assert len(stored_names_of(default_storage, slide.file.name)) == 2  # rescannable
