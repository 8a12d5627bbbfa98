"""train_classifier --include-reviews: cells a signer overrode become training data."""
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from diagnostics.models import CellResult, CellReview, SpecimenReopening, SpecimenSignOff
from diagnostics.training_data import export_reviewed_cells, signed_overrides
from imaging.models import ImageAsset, Specimen
from tests.diagnostics.conftest import SAMPLE_CELLS_DIR

CELL_PNG = sorted(SAMPLE_CELLS_DIR.glob("Parabasal_*.png"))[0].read_bytes()


@pytest.fixture
def review(doctor):
    """Stores a cell image of ``specimen`` predicted ``predicted`` and reviewed as ``reviewed``."""
    def make(specimen, predicted, reviewed):
        number = ImageAsset.objects.count() + 1
        image = ImageAsset.objects.create(
            specimen=specimen, file=SimpleUploadedFile(f"cell{number}.png", CELL_PNG),
            original_name=f"cell{number}.png", sha256=f"{number:064x}", image_format="PNG",
            width=8, height=8, size_bytes=len(CELL_PNG))
        result = CellResult.objects.create(
            image=image, model_version="test-model", status="done", predicted_class=predicted,
            probabilities={predicted: 0.6, reviewed: 0.4} if reviewed != predicted
            else {predicted: 1.0}, finished_at=timezone.now())
        return CellReview.objects.create(result=result, reviewer=doctor, reviewed_class=reviewed,
                                         accepted=reviewed == predicted)
    return make


def new_specimen(patient, lab_staff, accession):
    return Specimen.objects.create(patient=patient, accession_number=accession,
                                   collected_on="2026-11-01", created_by=lab_staff)


def sign(specimen, doctor, version=1, reason=""):
    SpecimenSignOff.objects.create(specimen=specimen, version=version, interpretation="nilm",
                                   signed_by=doctor, amendment_reason=reason)


@pytest.fixture
def reviews(specimen, patient, lab_staff, doctor, review):
    """Overrides on a signed specimen, an open one and a re-opened one, and an acceptance."""
    wanted = [review(specimen, "Parabasal", "Dyskeratotic"),
              review(specimen, "Superficial-Intermediate", "Parabasal")]
    review(specimen, "Parabasal", "Parabasal")  # accepted: not an override
    unknown_class = review(specimen, "Dyskeratotic", "Koilocytotic")
    sign(specimen, doctor)
    open_specimen = new_specimen(patient, lab_staff, "ACC-open")
    review(open_specimen, "Parabasal", "Dyskeratotic")  # not signed off: may still change
    reopened = new_specimen(patient, lab_staff, "ACC-reopened")
    review(reopened, "Parabasal", "Dyskeratotic")
    sign(reopened, doctor)
    SpecimenReopening.objects.create(specimen=reopened, reopened_version=1, reopened_by=doctor,
                                     reason="more cells")
    second_signed = new_specimen(patient, lab_staff, "ACC-2")
    wanted.append(review(second_signed, "Parabasal", "Superficial-Intermediate"))
    sign(second_signed, doctor)
    return wanted, unknown_class


def test_only_overrides_on_signed_off_specimens_count(reviews):
    wanted, unknown_class = reviews
    assert set(signed_overrides()) == {*wanted, unknown_class}


def test_they_are_exported_under_their_reviewed_class_named_by_specimen(reviews, tmp_path):
    wanted, _ = reviews
    exported = export_reviewed_cells(
        tmp_path, classes=["Dyskeratotic", "Parabasal", "Superficial-Intermediate"])
    first = wanted[0].result
    written = tmp_path / "Dyskeratotic" / f"{first.image.specimen_id}_{first.pk}.png"
    assert written.read_bytes() == CELL_PNG
    assert exported.n_cells == 3 and len(exported.specimens) == 2
    assert exported.skipped_per_class == {"Koilocytotic": 1}
    assert "Left out" in exported.describe() and "Koilocytotic 1" in exported.describe()


def test_training_with_reviews_records_them_in_the_metadata(reviews, data_dir, tmp_path):
    stdout = io.StringIO()
    call_command("train_classifier", "--data", str(data_dir), "--out", str(tmp_path / "model"),
                 "--epochs", "1", "--folds", "2", "--include-reviews",
                 "--model-version", "tiny-with-reviews-1", stdout=stdout)
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    reviewed = metadata["training_data"]["reviewed_cells"]
    assert reviewed["n_cells"] == 3 and reviewed["n_specimens"] == 2
    assert metadata["training_data"]["n_images"] == 18 + 3
    assert "grouped by specimen" in metadata["validation"]["protocol"]
    printed = stdout.getvalue()
    assert "Adding 3 cells whose class a signer overrode, from 2 signed-off specimens" in printed
    assert "Reviewed cells added: 3" in printed
