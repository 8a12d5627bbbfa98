"""Lab staff correct requisition and demographic fields with a reason, the old value kept;
and delete a mistaken upload until screening starts."""
from auditlog.models import LogEntry
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from cases.models import Correction
from diagnostics.models import CellResult
from imaging.models import ImageAsset
from tests.cases.conftest import NORMAL, today_plus


def correct(client, kind, pk, **fields):
    return client.post(reverse("cases:correct", args=[kind, pk]), fields, follow=True)


def patient_fields(patient, **changes):
    return {"mrn": patient.mrn, "full_name": patient.full_name,
            "date_of_birth": patient.date_of_birth, "consent_given": "on", **changes}


def test_a_demographic_correction_keeps_the_old_value_and_the_reason(
        client_for, case, lab_staff):
    patient = case.specimen.patient
    correct(client_for(lab_staff), "patient", patient.pk,
            **patient_fields(patient, full_name="Case Patient Corrected",
                             reason="Name misspelt on the requisition"))
    patient.refresh_from_db()
    assert patient.full_name == "Case Patient Corrected"
    correction = Correction.objects.get()
    assert (correction.field, correction.old_value, correction.new_value) == (
        "full_name", "Case Patient 1", "Case Patient Corrected")
    assert (correction.reason, correction.by) == ("Name misspelt on the requisition", lab_staff)
    changes = [entry.changes_dict for entry in LogEntry.objects.filter(
        content_type__model="patient", action=LogEntry.Action.UPDATE, actor=lab_staff)]
    assert {"full_name": ["Case Patient 1", "Case Patient Corrected"]} in changes


def test_a_correction_without_a_reason_changes_nothing(client_for, case, lab_staff):
    patient = case.specimen.patient
    page = correct(client_for(lab_staff), "patient", patient.pk,
                   **patient_fields(patient, full_name="Someone Else"))
    assert "This field is required" in page.content.decode()
    patient.refresh_from_db()
    assert patient.full_name == "Case Patient 1" and not Correction.objects.exists()


def test_a_correction_to_a_future_date_is_refused(client_for, case, lab_staff):
    patient = case.specimen.patient
    page = correct(client_for(lab_staff), "patient", patient.pk,
                   **patient_fields(patient, date_of_birth=today_plus(5), reason="Typo"))
    assert "is in the future" in page.content.decode()
    assert not Correction.objects.exists()


def test_a_requisition_correction_shares_the_patient_with_the_new_clinician(
        client_for, case, lab_staff, other_clinician):
    requisition = case.specimen.requisition
    # A clinician reads the patient's history (the specimen page, its cells, is never theirs).
    assert client_for(other_clinician).get(
        case.specimen.patient.get_absolute_url()).status_code == 404
    correct(client_for(lab_staff), "requisition", case.specimen.pk,
            ordering_clinician=other_clinician.pk, specimen_type="conventional",
            hpv_result="negative", reason="Wrong clinician and type on the form")
    requisition.refresh_from_db()
    assert (requisition.ordering_clinician, requisition.specimen_type) == (
        other_clinician, "conventional")
    assert set(Correction.objects.values_list("field", "old_value")) == {
        ("ordering_clinician", "clin_ordering"), ("specimen_type", "liquid_based"),
        ("hpv_result", "not_done")}
    assert client_for(other_clinician).get(
        case.specimen.patient.get_absolute_url()).status_code == 200


def test_screeners_and_clinicians_may_not_correct(client_for, case, cytotechnologist, clinician):
    url = reverse("cases:correct", args=["patient", case.specimen.patient.pk])
    assert client_for(cytotechnologist).get(url).status_code == 403
    assert client_for(clinician).get(url).status_code == 403


def stored_image(case, make_result, sample_cell_paths):
    result = make_result(case.specimen, NORMAL)
    image = result.image
    image.file.save(image.original_name, ContentFile(sample_cell_paths[0].read_bytes()))
    return image


def delete(client, image, reason="Uploaded to the wrong specimen"):
    return client.post(reverse("cases:delete_image", args=[image.pk]), {"reason": reason},
                       follow=True)


def test_a_mistaken_upload_is_deleted_before_screening(
        client_for, case, lab_staff, make_result, sample_cell_paths,
        django_capture_on_commit_callbacks):
    image = stored_image(case, make_result, sample_cell_paths)
    name = image.file.name
    with django_capture_on_commit_callbacks(execute=True):
        page = delete(client_for(lab_staff), image)
    assert "deleted from specimen" in page.content.decode()
    assert not ImageAsset.objects.exists() and not CellResult.objects.exists()
    assert not default_storage.exists(name)
    correction = Correction.objects.get()
    assert (correction.model_name, correction.new_value, correction.reason) == (
        "imageasset", "deleted", "Uploaded to the wrong specimen")
    assert LogEntry.objects.filter(content_type__model="imageasset",
                                   action=LogEntry.Action.DELETE, actor=lab_staff).exists()


def test_an_upload_cannot_be_deleted_once_the_case_is_claimed(
        client_for, case, lab_staff, cytotechnologist, make_result, sample_cell_paths):
    image = stored_image(case, make_result, sample_cell_paths)
    client_for(cytotechnologist).post(reverse("cases:claim", args=[case.pk]))
    page = delete(client_for(lab_staff), image)
    assert "can no longer be deleted" in page.content.decode()
    assert ImageAsset.objects.filter(pk=image.pk).exists()
    assert default_storage.exists(image.file.name)


def test_deleting_an_upload_needs_a_reason(client_for, case, lab_staff, make_result,
                                           sample_cell_paths):
    image = stored_image(case, make_result, sample_cell_paths)
    delete(client_for(lab_staff), image, reason="")
    assert ImageAsset.objects.filter(pk=image.pk).exists()


def test_a_cytotechnologist_may_not_delete_uploads(client_for, case, cytotechnologist,
                                                   make_result, sample_cell_paths):
    image = stored_image(case, make_result, sample_cell_paths)
    response = client_for(cytotechnologist).post(
        reverse("cases:delete_image", args=[image.pk]), {"reason": "x"})
    assert response.status_code == 403


def test_deleting_a_field_of_view_removes_the_cells_cut_from_it_and_their_files(
        client_for, case, lab, lab_staff, django_capture_on_commit_callbacks):
    from imaging.uploads import store_upload
    from tests.imaging.field_images import png_upload, synthetic_field
    from tests.imaging.test_field_upload import find_cells

    store_upload(case.specimen, lab_staff, [png_upload("field.png", synthetic_field())])
    assert find_cells() > 0
    field_image = ImageAsset.objects.get(kind="field")
    crops = list(ImageAsset.objects.filter(source_field__image=field_image))
    names = [field_image.file.name] + [crop.file.name for crop in crops]
    lab.members.add(lab_staff)  # the panel's actions are for the lab's members
    client = client_for(lab_staff)
    panel = client.get(case.specimen.get_absolute_url()).content.decode()
    assert f"Delete {field_image.original_name}" in panel
    assert f"Delete {crops[0].original_name}" not in panel  # cut cells are not uploads
    refused = delete(client, crops[0]).content.decode()
    assert "delete that field" in refused and ImageAsset.objects.filter(pk=crops[0].pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        delete(client, field_image)
    assert not ImageAsset.objects.exists() and not CellResult.objects.exists()
    assert not any(default_storage.exists(name) for name in names)
    assert f"{len(crops)} cells cut from it" in Correction.objects.get().old_value
