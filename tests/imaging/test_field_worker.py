"""Fields of view through a real Celery worker: uploaded on the page, their cells found,
stored and classified by the worker, the page shows them; a broken field among good ones is
reported by name and the others are processed."""
from django.urls import reverse

from diagnostics.models import CellResult
from imaging.models import FieldOfView
from tests.imaging.field_images import png_upload, synthetic_field


def test_the_worker_finds_and_classifies_the_cells_of_uploaded_fields(
        client_for, lab_staff, specimen, celery_worker, wait_for, monkeypatch):
    from diagnostics import field_cells

    detect = field_cells.detect_nuclei

    def fail_on_broken(field, picture):
        if field.image.original_name == "broken.png":
            raise field_cells.FieldFailed("The cell detector could not process it (test).")
        return detect(field, picture)

    monkeypatch.setattr(field_cells, "detect_nuclei", fail_on_broken)
    client = client_for(lab_staff)
    client.post(reverse("imaging:upload", args=[specimen.pk]), {"files": [
        png_upload("north.png", synthetic_field()), png_upload("broken.png", synthetic_field(seed=6)),
        png_upload("south.png", synthetic_field(seed=12))]})

    def all_classified():
        fields = FieldOfView.objects.all()
        return (not fields.filter(status__in=["queued", "running"]).exists()
                and not CellResult.objects.filter(status__in=["queued", "running"]).exists())

    wait_for(all_classified)
    statuses = dict(FieldOfView.objects.values_list("image__original_name", "status"))
    assert statuses == {"north.png": "done", "broken.png": "failed", "south.png": "done"}
    done = CellResult.objects.filter(status="done")
    assert done.count() == sum(FieldOfView.objects.filter(status="done")
                               .values_list("cells_cut", flat=True)) > 0
    page = client.get(specimen.get_absolute_url()).content.decode()
    assert "broken.png" in page and "could not process it (test)" in page
    assert f"{done.count()} classified cell" in page
