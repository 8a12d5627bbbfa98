"""The shipped Bethesda cell model (diagnostics/trained_models/bethesda), trained with the
morphology model by `manage.py train_cell_models`: a head on the pass of the backbone both
share, fine-tuned on SIPaKMeD's and CRIC's cells together, served beside the morphology
model."""
from pathlib import Path

import pytest

from diagnostics.engine import load_classifier
from diagnostics.engine.cells_csv import read_cells_csv
from diagnostics.engine.crops import cut_cell_crops

BETHESDA_DIR = Path(__file__).resolve().parents[2] / "diagnostics" / "trained_models" / "bethesda"
CRIC_DIR = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cric"
CATEGORIES = {"Negative for intraepithelial lesion", "ASC-US", "LSIL", "ASC-H", "HSIL", "SCC"}


@pytest.fixture(scope="module")
def bethesda():
    return load_classifier(BETHESDA_DIR, runtime="auto", threads=2)  # checks every sha256


def test_it_knows_the_six_bethesda_categories_and_its_crop_size(bethesda):
    assert set(bethesda.classes_) == CATEGORIES
    assert bethesda.metadata_["crop"]["size"] == 128
    assert bethesda.metadata_["head"]["params"]["class_weight"] == "balanced"
    assert "fields of view" in bethesda.metadata_["validation"]["protocol"]


def test_it_fits_in_the_repository_budget():
    assert all(path.stat().st_size <= 25 * 1024 * 1024 for path in BETHESDA_DIR.iterdir())


def test_it_classifies_cric_crops_cut_as_the_product_cuts_them(bethesda):
    if not CRIC_DIR.is_dir():
        pytest.skip(f"CRIC fields not found at {CRIC_DIR}")
    field_name, cells = next(iter(read_cells_csv(CRIC_DIR / "cells.csv").groupby_image().items()))
    from PIL import Image

    with Image.open(CRIC_DIR / "images" / field_name) as field:
        crops = cut_cell_crops(field, [(cell.x, cell.y) for cell in cells[:4]], 128)
    probabilities = bethesda.predict_proba(crops)
    assert probabilities.shape == (len(crops), 6)
    assert abs(probabilities.sum(axis=1) - 1).max() < 1e-6


def test_it_reads_the_shipped_morphology_models_backbone_pass(bethesda):
    from diagnostics.engine.metadata import read_metadata
    from diagnostics.engine.serving import metadata_reads_pass_of

    morphology = read_metadata(BETHESDA_DIR.parent / "default")
    fine_tuned = morphology["backbone"]["fine_tuned"]
    assert metadata_reads_pass_of(bethesda.metadata_, morphology)
    assert bethesda.metadata_["backbone"]["weights_sha256"] == fine_tuned["sha256"]
    assert fine_tuned["on"]["cells"] == {"sipakmed": 3230, "cric": 4639}
    assert fine_tuned["settings"]["class_balance"] == "sqrt"
