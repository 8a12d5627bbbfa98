import json

import numpy as np
import pytest
from PIL import Image

from diagnostics.engine import load_classifier, train_and_evaluate
from diagnostics.engine.artefact import file_sha256

TINY_HEAD = {"n_estimators": 10, "min_child_samples": 1}
TINY_FROZEN = {"image_size": 64, "views": ["identity", "hflip"], **TINY_HEAD}
TINY_FINE_TUNED = {"image_size": 64, "epochs": 1, "batch_size": 8, **TINY_HEAD}


@pytest.fixture(scope="module")
def trained(tiny_dataset_dir, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("model")
    cache_dir = tmp_path_factory.mktemp("cache")
    metadata = train_and_evaluate(tiny_dataset_dir, out_dir, hybrid="efficientnet_lite0-lightgbm",
                                  overrides=TINY_FROZEN, n_folds=2, cache_dir=cache_dir,
                                  progress=False)
    return metadata, out_dir, cache_dir


@pytest.fixture(scope="module")
def fine_tuned(tiny_dataset_dir, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("fine_tuned")
    metadata = train_and_evaluate(tiny_dataset_dir, out_dir, overrides=TINY_FINE_TUNED,
                                  n_folds=2, progress=False, version="tiny-fine-tuned")
    return metadata, out_dir


def test_metadata_describes_data_validation_calibration_and_versions(trained):
    metadata, out_dir, _ = trained
    assert metadata == json.loads((out_dir / "metadata.json").read_text())
    assert metadata["version"] == "efficientnet_lite0-lightgbm-1"
    assert metadata["training_data"]["n_groups"] == 10
    assert metadata["training_data"]["counts_per_class"]["Parabasal"] == 4
    assert "StratifiedGroupKFold" in metadata["validation"]["protocol"]
    assert set(metadata["validation"]["per_class"]) == set(metadata["classes"])
    assert metadata["head"]["sha256"] == file_sha256(out_dir / "head.txt")
    assert metadata["package_versions"]["lightgbm"]
    assert metadata["calibration"]["temperature"] > 0
    assert 0 <= metadata["calibration"]["referral_rate"] <= 1
    assert metadata["role"] == "morphology"
    assert "the mean of 2 views" in metadata["served_probabilities"]
    assert not (out_dir / "backbone.pt").exists()


def test_trained_artefact_loads_and_classifies(trained, tiny_dataset_dir):
    classifier = load_classifier(trained[1])
    image = sorted((tiny_dataset_dir / "Parabasal").iterdir())[0]
    assert classifier.predict_proba([Image.open(image)]).shape == (1, 5)


def test_features_are_cached_for_the_next_run(trained, tiny_dataset_dir, tmp_path):
    _, _, cache_dir = trained
    cached = sorted(cache_dir.glob("*.npz"))
    modified = [path.stat().st_mtime_ns for path in cached]
    train_and_evaluate(tiny_dataset_dir, tmp_path, hybrid="efficientnet_lite0-lightgbm",
                       overrides=TINY_FROZEN, n_folds=2, cache_dir=cache_dir, progress=False)
    assert len(cached) == 2
    assert [path.stat().st_mtime_ns for path in sorted(cache_dir.glob("*.npz"))] == modified


def test_fine_tuned_model_ships_its_backbone_weights(fine_tuned):
    metadata, out_dir = fine_tuned
    recorded = metadata["backbone"]["fine_tuned"]
    assert recorded["sha256"] == file_sha256(out_dir / "backbone.pt")
    assert recorded["settings"]["epochs"] == 1
    assert metadata["name"] == "efficientnet_lite0-finetuned-lightgbm"


def test_fine_tuned_model_reloads_with_identical_calibrated_predictions(fine_tuned,
                                                                       tiny_dataset_dir):
    metadata, out_dir = fine_tuned
    images = [Image.open(path) for path in sorted((tiny_dataset_dir / "Koilocytotic").iterdir())]
    first, second = load_classifier(out_dir), load_classifier(out_dir)
    probabilities = first.predict_proba(images)
    np.testing.assert_allclose(probabilities, second.predict_proba(images), atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert first.calibration_["temperature"] == metadata["calibration"]["temperature"]


def test_a_corrupt_fine_tuned_backbone_is_refused(fine_tuned, tmp_path):
    import shutil
    _, out_dir = fine_tuned
    copy = shutil.copytree(out_dir, tmp_path / "model")
    (copy / "backbone.pt").write_bytes(b"not the weights")
    with pytest.raises(ValueError, match="sha256"):
        load_classifier(copy)
