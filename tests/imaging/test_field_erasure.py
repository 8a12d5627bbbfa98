"""A patient's fields of view, and the cells cut from them, go with the patient's data: in
the GDPR export, and from the database and storage when the patient is erased."""
from diagnostics import tasks
from diagnostics.models import CellResult
from imaging.models import FieldOfView, ImageAsset
from imaging.uploads import store_upload
from patients.gdpr import erase_patient, patient_data
from tests.imaging.field_images import png_upload, synthetic_field


def test_fields_and_their_cells_are_exported_and_erased(
        specimen, patient, lab_staff, administrator, media_in_tmp, django_capture_on_commit_callbacks):
    store_upload(specimen, lab_staff, [png_upload("field.png", synthetic_field())])
    tasks.find_cells_in_fields(list(FieldOfView.objects.values_list("pk", flat=True)))
    crops = ImageAsset.objects.filter(kind="cell").count()
    assert crops > 0
    exported = patient_data(patient)
    assert len(exported["fields_of_view"]) == 1 and len(exported["images"]) == crops + 1

    with django_capture_on_commit_callbacks(execute=True):
        erase_patient(patient, administrator)
    assert not FieldOfView.objects.exists() and not ImageAsset.objects.exists()
    assert not CellResult.objects.exists()
    assert [path for path in media_in_tmp.rglob("*") if path.is_file()] == []
