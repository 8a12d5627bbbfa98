from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diagnostics.engine import load_classifier

SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[2] / "diagnostics" / "trained_models" / "default"

SIPAKMED_CLASSES = ["Dyskeratotic", "Koilocytotic", "Metaplastic", "Parabasal",
                    "Superficial-Intermediate"]


@pytest.fixture(scope="module")
def shipped():
    return load_classifier(SHIPPED_MODEL_DIR)


def test_shipped_model_loads_with_the_five_sipakmed_classes(shipped):
    assert shipped.classes_ == SIPAKMED_CLASSES
    assert shipped.version.startswith("efficientnet_lite0-")


def test_shipped_model_is_calibrated_with_a_referral_threshold(shipped):
    calibration = shipped.metadata_["calibration"]
    assert calibration["temperature"] > 0
    assert 0 < calibration["referral_threshold"] <= 1
    assert calibration["kept_accuracy"] >= calibration["target_accuracy"]


def test_shipped_model_fits_in_the_repository_budget():
    size = sum(path.stat().st_size for path in SHIPPED_MODEL_DIR.iterdir())
    assert size <= 25 * 1024 * 1024


def test_shipped_model_recognises_cells_it_was_trained_on(shipped, tiny_dataset_dir):
    # The shipped head saw these cells; getting them wrong would mean serving preprocesses
    # differently from training.
    paths = sorted(tiny_dataset_dir.glob("*/*.png"))
    probabilities = shipped.predict_proba([Image.open(path) for path in paths])
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    predicted = [shipped.classes_[i] for i in probabilities.argmax(axis=1)]
    truth = [path.parent.name for path in paths]
    assert np.mean(np.array(predicted) == np.array(truth)) >= 0.9
