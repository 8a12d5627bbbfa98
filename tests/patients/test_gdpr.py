import io
import json
import zipfile

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from accounts.roles import LAB_STAFF
from diagnostics.models import CellResult, CellReview, SpecimenSignOff
from imaging.models import ImageAsset, Specimen
from patients.models import Patient

CHANGELIST = "admin:patients_patient_changelist"


@pytest.fixture
def clinical_record(patient, specimen, doctor):
    """One stored image with a heatmap, a review and a sign-off: a patient's full record."""
    image = ImageAsset.objects.create(
        specimen=specimen, file=default_storage.save(f"specimens/{specimen.pk}/cell1.png", ContentFile(b"image-bytes")),
        original_name="cell1.png", sha256="a" * 64, image_format="PNG", width=8, height=8, size_bytes=11,
    )
    result = CellResult.objects.create(
        image=image, model_version="test-model", status="done",
        probabilities={"Dyskeratotic": 0.8, "Parabasal": 0.2}, predicted_class="Dyskeratotic",
    )
    result.heatmap.save("heatmap.png", ContentFile(b"heatmap-bytes"))
    CellReview.objects.create(result=result, reviewer=doctor, reviewed_class="Dyskeratotic", accepted=True)
    SpecimenSignOff.objects.create(specimen=specimen, interpretation="see_comment", signed_by=doctor)
    return {"image": image, "result": result, "files": [image.file.name, result.heatmap.name]}


def run_action(client, action, patient, **extra):
    return client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [patient.pk], **extra})


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", password="a-long-test-password-1")


def test_export_holds_every_record_and_file(client_for, administrator, patient, clinical_record):
    response = run_action(client_for(administrator), "export_patient_data", patient)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("patient.json"))
    assert data["patient"]["fields"]["mrn"] == "MRN-1"
    assert data["patient"]["fields"]["full_name"] == "Test Patient"
    assert [s["fields"]["accession_number"] for s in data["specimens"]] == ["ACC-1"]
    assert data["images"][0]["fields"]["original_name"] == "cell1.png"
    assert data["results"][0]["fields"]["predicted_class"] == "Dyskeratotic"
    assert data["reviews"][0]["fields"]["reviewer"] == ["dr_assigned"]
    assert data["sign_offs"][0]["fields"]["interpretation"] == "see_comment"
    assert any(entry["model"] == "patients.patient" and entry["action"] == "create"
               for entry in data["audit_log"])
    image_name, heatmap_name = clinical_record["files"]
    assert archive.read(f"files/{image_name}") == b"image-bytes"
    assert archive.read(f"files/{heatmap_name}") == b"heatmap-bytes"


def test_export_is_audited(client_for, administrator, patient):
    run_action(client_for(administrator), "export_patient_data", patient)
    entry = LogEntry.objects.get_for_object(patient).filter(action=LogEntry.Action.ACCESS).get()
    assert entry.actor == administrator and entry.additional_data == {"gdpr": "export"}


def test_erase_asks_for_the_mrn_first(client_for, administrator, patient, clinical_record):
    client = client_for(administrator)
    page = run_action(client, "erase_patient", patient).content.decode()
    assert "Type the MRN" in page and "1 cell reviews and 1 signed reports" in page
    page = run_action(client, "erase_patient", patient, confirm_mrn="wrong").content.decode()
    assert "does not match" in page
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_erase_removes_rows_and_stored_files(client_for, administrator, patient, specimen, clinical_record,
                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(client_for(administrator), "erase_patient", patient, confirm_mrn="MRN-1")
    assert response.status_code == 302
    assert not Patient.objects.filter(pk=patient.pk).exists()
    assert not Specimen.objects.exists() and not ImageAsset.objects.exists()
    assert not CellResult.objects.exists() and not CellReview.objects.exists()
    assert not SpecimenSignOff.objects.exists()
    for name in clinical_record["files"]:
        assert not default_storage.exists(name)


def test_erase_keeps_earlier_audit_entries_and_logs_itself(client_for, administrator, patient, clinical_record,
                                                          django_capture_on_commit_callbacks):
    created = LogEntry.objects.get_for_object(patient).filter(action=LogEntry.Action.CREATE).count()
    with django_capture_on_commit_callbacks(execute=True):
        run_action(client_for(administrator), "erase_patient", patient, confirm_mrn="MRN-1")
    entries = LogEntry.objects.filter(object_pk=str(patient.pk), content_type__model="patient")
    assert entries.filter(action=LogEntry.Action.CREATE).count() == created == 1
    erase = entries.get(action=LogEntry.Action.DELETE)
    assert erase.actor == administrator
    assert erase.additional_data["deleted"]["sign_offs"] == 1
    assert erase.additional_data["deleted"]["files"] == 2
    assert "Test Patient" not in erase.object_repr


def test_superuser_may_export(client_for, superuser, patient):
    response = run_action(client_for(superuser), "export_patient_data", patient)
    assert response["Content-Type"] == "application/zip"


def test_staff_without_the_permission_cannot_export_or_erase(client_for, patient):
    clerk = User.objects.create_user("clerk", password="a-long-test-password-1", is_staff=True)
    clerk.groups.add(Group.objects.get(name=LAB_STAFF))
    client = client_for(clerk)
    export = run_action(client, "export_patient_data", patient)
    assert export.get("Content-Type", "").startswith("text/html")
    run_action(client, "erase_patient", patient, confirm_mrn="MRN-1")
    assert Patient.objects.filter(pk=patient.pk).exists()
    assert not LogEntry.objects.filter(additional_data__has_key="gdpr").exists()


def test_lab_staff_cannot_reach_the_admin_actions(client_for, lab_staff, patient):
    response = run_action(client_for(lab_staff), "erase_patient", patient, confirm_mrn="MRN-1")
    assert response.status_code == 302
    assert Patient.objects.filter(pk=patient.pk).exists()
