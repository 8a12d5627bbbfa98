"""Uploads of fields of view: the field stored once, each detected cell stored as a crop that
remembers where it was found and classified like an uploaded cell; a broken field among good
ones reported by name, nothing of it half-written."""
import pytest
from django.urls import reverse

from diagnostics import tasks
from diagnostics.models import CellResult
from imaging.models import FieldOfView, ImageAsset
from imaging.uploads import store_upload
from tests.imaging.field_images import cric_uploads, png_upload, synthetic_field


def upload(client, specimen, files, content="auto"):
    return client.post(reverse("imaging:upload", args=[specimen.pk]),
                       {"files": files, "content": content}, follow=True)


def find_cells(fields=None):
    """Run the worker's detection on the queued fields; return how many cells it stored."""
    fields = fields or FieldOfView.objects.filter(status="queued")
    return tasks.find_cells_in_fields([field.pk for field in fields])


def test_a_large_image_is_stored_once_as_a_field_and_queued_for_detection(
        client_for, lab_staff, specimen):
    page = upload(client_for(lab_staff), specimen, [png_upload("field.png", synthetic_field())])
    [image] = ImageAsset.objects.all()
    assert image.kind == "field" and image.field_of_view.status == "queued"
    assert not CellResult.objects.exists()  # the field itself is not one cell
    assert "1 field(s) of view stored" in page.content.decode()


def test_a_small_image_stays_a_cell_crop_unless_the_uploader_says_field(
        client_for, lab_staff, specimen, sample_upload):
    client = client_for(lab_staff)
    upload(client, specimen, sample_upload(1))
    upload(client, specimen, [png_upload("small-field.png", synthetic_field(size=(400, 300)))],
           content="field")
    kinds = dict(ImageAsset.objects.values_list("original_name", "kind"))
    assert list(kinds.values()) == ["cell", "field"]
    assert CellResult.objects.count() == 1 and FieldOfView.objects.count() == 1


def test_the_uploader_may_say_a_large_image_is_one_cell(client_for, lab_staff, specimen):
    upload(client_for(lab_staff), specimen, [png_upload("big-cell.png", synthetic_field())],
           content="cell")
    assert ImageAsset.objects.get().kind == "cell" and CellResult.objects.count() == 1


def test_an_unknown_content_choice_is_refused_with_a_message(client_for, lab_staff, specimen):
    page = upload(client_for(lab_staff), specimen, [png_upload("field.png", synthetic_field())],
                  content="hologram").content.decode()
    assert "Select a valid choice" in page and not ImageAsset.objects.exists()


def test_each_detected_cell_becomes_a_crop_that_remembers_its_field_and_position(
        specimen, lab_staff, settings):
    settings.CELL_CROP_PX = 96
    store_upload(specimen, lab_staff, [png_upload("field.png", synthetic_field())])
    stored = find_cells()
    field = FieldOfView.objects.get()
    crops = list(field.crops.all())
    assert field.status == "done" and stored == field.cells_cut == len(crops) > 0
    assert field.cells_found >= field.cells_cut
    for crop in crops:
        assert crop.kind == "cell" and crop.specimen == specimen
        assert (crop.width, crop.height) == (96, 96)
        assert 0 <= crop.field_x < 640 and 0 <= crop.field_y < 480
        assert crop.nucleus_radius > 0 and 0 <= crop.detection_score <= 1
        assert crop.original_name.startswith("field.png@x")
    assert CellResult.objects.filter(image__in=crops, status="done").count() == len(crops)


def test_crops_are_classified_from_memory_as_their_stored_images_would_be(specimen, lab_staff):
    store_upload(specimen, lab_staff, [png_upload("field.png", synthetic_field())])
    find_cells()
    results = list(CellResult.objects.order_by("pk"))
    assert results and {(r.status, r.bethesda_model_version != "") for r in results} == {
        ("done", True)}
    CellResult.objects.update(status="queued", probabilities={}, bethesda_probabilities={})
    assert tasks.classify_results([r.pk for r in results]) == len(results)  # from the PNGs
    for before, after in zip(results, CellResult.objects.order_by("pk")):
        for name, probability in before.probabilities.items():
            assert abs(after.probabilities[name] - probability) < 1e-6
        for name, probability in before.bethesda_probabilities.items():
            assert abs(after.bethesda_probabilities[name] - probability) < 1e-6


def test_each_classified_crop_has_one_creation_entry_with_its_prediction_and_model(
        specimen, lab_staff):
    from auditlog.models import LogEntry

    store_upload(specimen, lab_staff, [png_upload("field.png", synthetic_field())])
    find_cells()
    result = CellResult.objects.first()
    [entry] = LogEntry.objects.get_for_object(result)
    assert entry.action == LogEntry.Action.CREATE and entry.actor is None
    assert entry.additional_data == {"by": "worker", "model_version": result.model_version}
    assert entry.changes["predicted_class"] == ["None", result.predicted_class]
    assert entry.changes["status"] == ["None", "done"]


def test_flagged_crops_have_their_heat_maps_requested_once_stored(
        specimen, lab_staff, monkeypatch, django_capture_on_commit_callbacks):
    from diagnostics import services

    requested = []
    monkeypatch.setattr(services, "needs_heatmap", lambda result: result.pk % 2 == 0)
    monkeypatch.setattr(tasks.store_heatmaps, "delay", requested.append)
    store_upload(specimen, lab_staff, [png_upload("field.png", synthetic_field())])
    with django_capture_on_commit_callbacks(execute=True):
        find_cells()
    even = [pk for pk in CellResult.objects.order_by("pk").values_list("pk", flat=True)
            if pk % 2 == 0]
    assert requested == [even] and even
    assert services.store_heatmaps_of(even) == len(even)


def test_crops_the_worker_cannot_classify_at_once_are_queued_for_classify_results(
        specimen, lab_staff, monkeypatch, django_capture_on_commit_callbacks):
    from diagnostics import field_cells

    def unloadable(version):
        raise LookupError(f"model version {version} is not registered")

    sent = []
    monkeypatch.setattr(tasks.classify_results, "delay", sent.append)
    store_upload(specimen, lab_staff, [png_upload("field.png", synthetic_field())])
    monkeypatch.setattr(field_cells, "classifier_for", unloadable)
    with django_capture_on_commit_callbacks(execute=True):
        stored = find_cells()
    queued = list(CellResult.objects.filter(status="queued").order_by("pk")
                  .values_list("pk", flat=True))
    assert stored == len(queued) > 0 and sent == [queued]
    assert FieldOfView.objects.get().status == "done"
    monkeypatch.undo()
    assert tasks.classify_results(queued) == len(queued)  # from their stored PNGs
    assert set(CellResult.objects.values_list("status", flat=True)) == {"done"}


def test_a_broken_field_is_reported_by_name_and_the_others_are_processed(
        specimen, lab_staff, monkeypatch):
    store_upload(specimen, lab_staff, [png_upload("good.png", synthetic_field()),
                                       png_upload("bad.png", synthetic_field(seed=6))])
    bad = FieldOfView.objects.get(image__original_name="bad.png")
    bad.image.file.storage.delete(bad.image.file.name)  # lost from storage after upload
    find_cells()
    bad.refresh_from_db()
    good = FieldOfView.objects.get(image__original_name="good.png")
    assert bad.status == "failed" and "could not be read" in bad.error
    assert not bad.crops.exists()
    assert good.status == "done" and good.crops.count() == good.cells_cut > 0


def test_a_detector_failure_leaves_no_orphan_crops(specimen, lab_staff, monkeypatch, settings):
    from diagnostics import field_cells

    store_upload(specimen, lab_staff, [png_upload("field.png", synthetic_field())])

    class BrokenDetector:
        def detect(self, image):
            raise RuntimeError("out of memory")

    monkeypatch.setattr(field_cells, "field_detector", BrokenDetector)
    find_cells()
    field = FieldOfView.objects.get()
    assert field.status == "failed" and "detector could not process it (out of memory)" in field.error
    assert ImageAsset.objects.count() == 1 and not CellResult.objects.exists()


def test_a_storage_failure_midway_removes_the_crops_already_written(
        specimen, lab_staff, monkeypatch, media_in_tmp):
    from imaging import fields

    store_upload(specimen, lab_staff, [png_upload("field.png", synthetic_field())])
    written = sorted(path for path in media_in_tmp.rglob("*") if path.is_file())
    write = fields.write_crop_file
    calls = []

    def fail_on_the_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return write(*args)

    monkeypatch.setattr(fields, "write_crop_file", fail_on_the_third)
    find_cells()
    field = FieldOfView.objects.get()
    assert field.status == "failed" and "disk full" in field.error
    assert sorted(path for path in media_in_tmp.rglob("*") if path.is_file()) == written
    assert ImageAsset.objects.count() == 1


def test_real_cric_fields_are_cut_into_classified_cells(specimen, lab_staff):
    batch = store_upload(specimen, lab_staff, cric_uploads(2))
    assert batch.stored_count == 2
    find_cells()
    fields = list(FieldOfView.objects.all())
    assert [field.status for field in fields] == ["done", "done"]
    assert all(field.cells_cut > 20 for field in fields)
    crops = ImageAsset.objects.filter(kind="cell")
    assert crops.count() == sum(field.cells_cut for field in fields)
    assert {(crop.width, crop.height) for crop in crops} == {(128, 128)}


def test_a_crops_thumbnail_is_made_when_a_gallery_first_asks_for_it(
        client_for, lab_staff, specimen):
    store_upload(specimen, lab_staff, [png_upload("field.png", synthetic_field())])
    find_cells()
    crop = ImageAsset.objects.filter(kind="cell").first()
    assert not crop.thumbnail  # not made by the worker: most crops are never shown
    response = client_for(lab_staff).get(crop.thumbnail_url())
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    crop.refresh_from_db()
    assert crop.thumbnail


def test_identical_crops_are_stored_once(specimen, lab_staff, media_in_tmp):
    from PIL import Image

    from imaging import fields

    store_upload(specimen, lab_staff, [png_upload("field.png", synthetic_field())])
    field = FieldOfView.objects.get()
    glass = Image.new("RGB", (128, 128), (214, 208, 214))
    stored = fields.store_crops(field, [glass, glass.copy()], [(10, 10, 0.3, 5), (900, 10, 0.3, 5)])
    assert len(stored) == 1 and len(list(media_in_tmp.rglob("*.png"))) == 2  # the field's too


def test_a_field_whose_specimen_was_signed_off_meanwhile_adds_no_cells(
        specimen, lab_staff, doctor, media_in_tmp):
    from diagnostics.models import SpecimenSignOff

    store_upload(specimen, lab_staff, [png_upload("field.png", synthetic_field())])
    SpecimenSignOff.objects.create(specimen=specimen, interpretation="nilm", signed_by=doctor)
    find_cells()
    field = FieldOfView.objects.get()
    assert field.status == "failed" and "signed off before its cells were found" in field.error
    assert ImageAsset.objects.count() == 1 and not CellResult.objects.exists()
    assert len([path for path in media_in_tmp.rglob("*") if path.is_file()]) == 2  # field, thumbnail
