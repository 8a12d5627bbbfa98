import io

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.access import assigned_doctors, patients_visible_to
from cases.models import Case, HandOver, Lab, Requisition
from diagnostics.bethesda import INTERPRETATION_CATEGORY
from diagnostics.models import CellResult, CellReview, SpecimenSignOff
from diagnostics.review import refuse_if_inconsistent, sign_off_blockers
from diagnostics.triage import triage_score
from imaging.models import ImageAsset, Specimen, UploadBatch
from patients.models import Patient


def generate(**options):
    arguments = {"patients": 4, "specimens_per_patient": 2, "images_per_specimen": 3,
                 "doctors": 2, "batch_size": 3, **options}
    call_command("generate_synthetic_load", stdout=io.StringIO(), **arguments)


@pytest.mark.django_db
def test_it_creates_the_requested_rows():
    generate()
    assert Patient.objects.filter(mrn__startswith="SYN-").count() == 4
    assert Specimen.objects.count() == 8
    assert UploadBatch.objects.count() == 8
    assert ImageAsset.objects.count() == 24
    assert CellResult.objects.count() == 24
    assert (Requisition.objects.count(), Case.objects.count(), HandOver.objects.count()) == (8, 8, 8)
    assert LogEntry.objects.filter(action=LogEntry.Action.CREATE).count() == (
        1 + 4 + 8 * 5 + 24 + 24 + CellReview.objects.count() + SpecimenSignOff.objects.count())  # the lab


@pytest.mark.django_db
def test_every_specimen_has_a_requisition_and_a_case_in_the_synthetic_lab(client):
    generate(patients=10, images_per_specimen=4)
    clinician = User.objects.get(username="syn-clinician")
    lab = Lab.objects.get(name="Synthetic lab")
    for specimen in Specimen.objects.select_related("requisition", "case"):
        assert specimen.requisition.ordering_clinician == clinician
        assert specimen.case.lab == lab
        signed = specimen.sign_offs.exists()
        assert (specimen.case.stage == Case.Stage.SIGNED_OUT) == signed
        assert patients_visible_to(clinician).filter(pk=specimen.patient_id).exists()
    waiting = Case.objects.filter(stage=Case.Stage.AWAITING_SCREENING).select_related("specimen")
    assert waiting.exists()
    doctor, screener = (User.objects.get(username=name) for name in ("syn-doctor-01", "syn-ct-01"))
    assert set(lab.members.all()) >= {doctor, screener, User.objects.get(username="syn-lab")}
    for user in (screener, doctor):
        client.force_login(user)
        queue = client.get(reverse("cases:queue")).content.decode()
        assert waiting.first().specimen.accession_number in queue


@pytest.mark.django_db
def test_sign_offs_are_valid_bethesda_reports():
    generate(patients=10, images_per_specimen=10)
    reports = SpecimenSignOff.objects.select_related("specimen__requisition")
    assert reports.exists()
    for report in reports:
        assert report.adequacy == "satisfactory" and report.transformation_zone == "present"
        assert report.interpretation in {"nilm", "asc_us", "lsil", "hsil"}
        assert report.general_category == INTERPRETATION_CATEGORY[report.interpretation]
        assert report.specimen_type == report.specimen.requisition.specimen_type
        assert report.codes["values"] and report.codes["report"]["code"]
        refuse_if_inconsistent(report, report.specimen)  # raises on a broken rule


@pytest.mark.django_db
def test_each_patient_has_an_assigned_doctor_and_the_labs_doctors_see_every_case(other_doctor):
    generate()
    doctors = list(User.objects.filter(username__startswith="syn-doctor-"))
    assert len(doctors) == 2
    for patient in Patient.objects.all():
        assert set(assigned_doctors(patient)) & set(doctors)
        for doctor in doctors:  # members of the synthetic lab
            assert patients_visible_to(doctor).filter(pk=patient.pk).exists()
    assert not patients_visible_to(other_doctor).exists()  # in no lab, assigned nothing


@pytest.mark.django_db
def test_an_assigned_doctor_opens_the_specimen_and_its_images(client):
    generate()
    specimen = Specimen.objects.select_related("patient").first()
    doctor = next(iter(assigned_doctors(specimen.patient)))
    client.force_login(doctor)
    assert client.get(reverse("imaging:specimen", args=[specimen.pk])).status_code == 200
    image = specimen.images.first()
    assert default_storage.exists(image.file.name)
    response = client.get(reverse("imaging:image_file", args=[image.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


@pytest.mark.django_db
def test_triage_scores_match_the_results():
    generate(patients=6, images_per_specimen=8)
    for specimen in Specimen.objects.all():
        probabilities = CellResult.objects.filter(
            image__specimen=specimen, status="done").values_list("probabilities", flat=True)
        expected = triage_score(probabilities)
        assert specimen.triage_score == pytest.approx(expected) if expected is not None \
            else specimen.triage_score is None


@pytest.mark.django_db
def test_exactly_the_classified_unsigned_specimens_await_sign_off():
    generate(patients=10, images_per_specimen=4)
    for specimen in Specimen.objects.all():
        classified = CellResult.objects.filter(image__specimen=specimen, status="done").exists()
        signed = SpecimenSignOff.objects.filter(specimen=specimen).exists()
        assert specimen.awaiting_sign_off == (classified and not signed)
    assert Specimen.objects.filter(awaiting_sign_off=True).exists()


@pytest.mark.django_db
def test_signed_off_specimens_have_every_flagged_cell_reviewed():
    generate(patients=10, images_per_specimen=10)
    signed = Specimen.objects.filter(sign_offs__isnull=False).distinct()
    assert signed.exists()
    for specimen in signed:
        assert sign_off_blockers(specimen) == []
    older = Specimen.objects.exclude(accession_number__endswith="-2")
    assert set(older) <= set(signed)  # only the latest specimen may await review


@pytest.mark.django_db
def test_results_look_like_the_classifiers(settings):
    generate(patients=10, images_per_specimen=10)
    done = CellResult.objects.filter(status="done")
    for result in done:
        assert sum(result.probabilities.values()) == pytest.approx(1, abs=1e-3)
        assert result.predicted_class == max(result.probabilities, key=result.probabilities.get)
        assert result.refer_to_cytologist == (result.confidence < 0.6)
    assert len({result.predicted_class for result in done}) >= 3


@pytest.mark.django_db
def test_it_refuses_a_database_with_real_patients_without_yes(lab_staff):
    Patient.objects.create(mrn="MRN-1", full_name="Real Patient", date_of_birth="1980-01-02")
    with pytest.raises(CommandError, match="--yes"):
        generate()
    assert not Patient.objects.filter(mrn__startswith="SYN-").exists()
    generate(yes=True)
    assert Patient.objects.filter(mrn__startswith="SYN-").count() == 4


@pytest.mark.django_db
def test_a_second_run_adds_rows_without_collisions():
    generate()
    generate(patients=3)
    assert Patient.objects.filter(mrn__startswith="SYN-").count() == 7
    assert User.objects.filter(username__startswith="syn-doctor-").count() == 2
    assert Patient.objects.order_by("-mrn").first().mrn == "SYN-0000007"


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_records():
    generate(seed=7)
    first = list(CellResult.objects.order_by("pk").values_list("predicted_class", flat=True))
    CellReview.objects.all().delete()
    SpecimenSignOff.objects.all().delete()
    HandOver.objects.all().delete()
    Case.objects.all().delete()
    CellResult.objects.all().delete()
    ImageAsset.objects.all().delete()
    Specimen.objects.all().delete()
    Patient.objects.all().delete()
    generate(seed=7)
    assert list(CellResult.objects.order_by("pk").values_list("predicted_class", flat=True)) == first
