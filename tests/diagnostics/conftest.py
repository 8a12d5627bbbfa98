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
