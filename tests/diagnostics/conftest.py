"""Labelled cells for the training and evaluation commands: the demo cells as a
folder-per-class data set named NNN_MM like SIPaKMeD's crops."""
import shutil
from pathlib import Path

import pytest

SAMPLE_CELLS_DIR = Path(__file__).resolve().parents[2] / "demo" / "sample_cells"
CLASSES = ["Dyskeratotic", "Parabasal", "Superficial-Intermediate"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Folder-per-class copy of the demo cells, named NNN_MM like SIPaKMeD's crops."""
    root = tmp_path_factory.mktemp("cells")
    for class_name in CLASSES:
        (root / class_name).mkdir()
        for path in sorted(SAMPLE_CELLS_DIR.glob(f"{class_name}_*.png")):
            shutil.copy(path, root / class_name / path.name.removeprefix(f"{class_name}_"))
    return root


@pytest.fixture
def make_result(db):
    """A finished CellResult for a new image of the specimen, without running the classifier."""
    from diagnostics.models import CellResult
    from imaging.models import ImageAsset

    def make(specimen, probabilities, refer=False, status="done"):
        number = ImageAsset.objects.count() + 1
        image = ImageAsset.objects.create(
            specimen=specimen, file=f"specimens/{specimen.pk}/cell{number}.png",
            original_name=f"cell{number}.png", sha256=f"{number:064x}", image_format="PNG",
            width=8, height=8, size_bytes=100,
        )
        predicted = max(probabilities, key=probabilities.get) if status == "done" else ""
        return CellResult.objects.create(
            image=image, model_version="test-model", status=status,
            probabilities=probabilities if status == "done" else {},
            predicted_class=predicted, refer_to_cytologist=refer,
        )
    return make
