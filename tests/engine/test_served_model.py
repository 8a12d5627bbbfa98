"""What a model's metadata says about how it is served: training writes it, so the shipped
models' descriptions are what their one training command would write today."""
from pathlib import Path

import pytest

from diagnostics.engine.backbones import SIPAKMED_STAGES_ORIGIN
from diagnostics.engine.metadata import read_metadata
from diagnostics.engine.served_model import (describe_served_probabilities, describe_starts_from,
                                              model_role)

MODELS = Path(__file__).resolve().parents[2] / "diagnostics" / "trained_models"
DEFAULT_MODEL_DIR, BETHESDA_MODEL_DIR = MODELS / "default", MODELS / "bethesda"

CALIBRATION = {"temperature": 1.5, "ece_before": 0.05, "ece_after": 0.01,
               "referral_threshold": 0.9, "referral_rate": 0.125, "kept_accuracy": 0.99}


def metadata_with(classes, head_params=None, fine_tuning=None, calibration=CALIBRATION):
    backbone = {"fine_tuned": {"settings": fine_tuning}} if fine_tuning else {}
    return {"classes": classes, "calibration": calibration, "backbone": backbone,
            "head": {"params": head_params or {}}, "preprocessing": {"views": ["identity"]},
            "validation": {"per_fold_accuracy": [0.9] * 5}}


@pytest.mark.parametrize("model_dir", [DEFAULT_MODEL_DIR, BETHESDA_MODEL_DIR])
def test_the_shipped_models_description_is_what_training_writes(model_dir):
    metadata = read_metadata(model_dir)
    assert metadata["served_probabilities"] == describe_served_probabilities(metadata)
    assert metadata["role"] == model_role({"classes": metadata["classes"]})


def test_the_shipped_bethesda_backbone_says_what_it_starts_from():
    backbone = read_metadata(BETHESDA_MODEL_DIR)["backbone"]
    assert backbone["starts_from"] == describe_starts_from(SIPAKMED_STAGES_ORIGIN,
                                                           fine_tuned=False)
    assert "one backbone pass a cell" in backbone["starts_from"]


def test_the_role_is_read_from_the_classes_unless_recorded():
    assert model_role({"classes": ["Negative for intraepithelial lesion", "HSIL"]}) == "bethesda"
    assert model_role({"classes": ["Dyskeratotic", "Parabasal"]}) == "morphology"
    assert model_role({"classes": ["NILM", "HSIL"], "role": "morphology"}) == "morphology"


def test_a_morphology_model_says_which_cells_it_refers():
    text = describe_served_probabilities(metadata_with(["Dyskeratotic", "Parabasal"]))
    assert "below 0.900 is referred to a cytologist: 12.5% of the out-of-fold cells" in text
    assert "grouped 5-fold" in text and "T = 1.500" in text
    assert "rare classes" not in text


def test_a_bethesda_model_says_its_referral_is_not_used_and_how_it_was_balanced():
    text = describe_served_probabilities(metadata_with(
        ["NILM", "HSIL"], {"class_weight": "balanced"}, {"class_balance": "sqrt"}))
    assert "would refer 12% of cells) is not used" in text
    assert ("The head weighs the classes equally (class_weight balanced) and fine-tuning drew "
            "rare classes more often") in text


def test_a_model_that_reaches_no_referral_target_refers_every_cell():
    calibration = {**CALIBRATION, "referral_rate": 1.0, "kept_accuracy": None}
    text = describe_served_probabilities(metadata_with(["Parabasal"], calibration=calibration))
    assert text.endswith("every cell is referred to a cytologist.")
