"""What is done with an API token is audited with the token's user and client address,
as the same request with a session is."""
from auditlog.models import LogEntry
from django.urls import reverse

from diagnostics.models import CellReview, SpecimenSignOff
from imaging.models import ImageAsset, Specimen
from patients.models import Patient

CLIENT = {"REMOTE_ADDR": "10.1.2.3"}


def entries_of(model, pk, action):
    return LogEntry.objects.get_for_objects(model.objects.filter(pk=pk)).filter(action=action)


def test_creating_records_with_a_token_is_audited_with_its_user(api_as, lab_staff, patient,
                                                                sample_upload, lab, clinician):
    lab.members.add(lab_staff)
    client = api_as(lab_staff)
    created_patient = client.post(reverse("api:patients"), {
        "mrn": "MRN-77", "full_name": "New Patient", "date_of_birth": "1990-05-06",
    }, format="json", **CLIENT).json()
    created_specimen = client.post(reverse("api:specimens"), {
        "patient": patient.pk, "accession_number": "ACC-9", "collected_on": "2026-10-01",
        "lab": lab.pk, "ordering_clinician": clinician.pk, "specimen_type": "conventional",
    }, format="json", **CLIENT).json()
    client.post(reverse("api:specimen_images", args=[created_specimen["id"]]),
                {"files": sample_upload(1)}, format="multipart", **CLIENT)
    image = ImageAsset.objects.get(specimen_id=created_specimen["id"])

    for model, pk in [(Patient, created_patient["id"]), (Specimen, created_specimen["id"]),
                      (ImageAsset, image.pk)]:
        [entry] = entries_of(model, pk, LogEntry.Action.CREATE)
        assert (entry.actor, entry.remote_addr) == (lab_staff, "10.1.2.3"), model


def test_reviews_and_sign_offs_with_a_token_are_audited_with_its_user(
        api_as, doctor, specimen, flagged_result):
    client = api_as(doctor)
    client.post(reverse("api:review", args=[flagged_result.pk]),
                {"reviewed_class": "Parabasal"}, **CLIENT)
    client.post(reverse("api:review", args=[flagged_result.pk]),
                {"reviewed_class": "Dyskeratotic"}, **CLIENT)  # changes the review
    client.post(reverse("api:sign_offs", args=[specimen.pk]),
                {"adequacy": "satisfactory", "interpretation": "hsil"}, **CLIENT)

    review = CellReview.objects.get(result=flagged_result)
    sign_off = SpecimenSignOff.objects.get(specimen=specimen)
    entries = [*entries_of(CellReview, review.pk, LogEntry.Action.CREATE),
               *entries_of(CellReview, review.pk, LogEntry.Action.UPDATE),
               *entries_of(SpecimenSignOff, sign_off.pk, LogEntry.Action.CREATE)]
    assert len(entries) == 3
    assert {(entry.actor, entry.remote_addr) for entry in entries} == {(doctor, "10.1.2.3")}


def test_reading_a_patient_with_a_token_is_logged_with_its_user(api_as, doctor, patient):
    api_as(doctor).get(reverse("api:patient", args=[patient.pk]), **CLIENT)
    [entry] = entries_of(Patient, patient.pk, LogEntry.Action.ACCESS)
    assert (entry.actor, entry.remote_addr) == (doctor, "10.1.2.3")
