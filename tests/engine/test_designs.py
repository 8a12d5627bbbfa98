import numpy as np
import pytest
from PIL import Image

from diagnostics.engine import (HybridClassifier, XGBoostHead, available_hybrids,
                                create_hybrid, load_classifier, save_classifier)

# Inception V3 needs at least 75 px; small sizes and few trees keep every design quick.
TINY = {"image_size": 75, "n_estimators": 5}


@pytest.fixture(scope="module")
def tiny_images():
    colours = [(200, 60, 60), (210, 70, 50), (60, 60, 200), (50, 70, 210)]
    images = [Image.new("RGB", (40, 30), colour) for colour in colours]
    return images, ["Koilocytotic", "Koilocytotic", "Parabasal", "Parabasal"]


def test_registry_lists_the_reference_designs_and_the_default():
    assert set(available_hybrids()) >= {
        "shufflenet_v2-lightgbm", "inception_v3-xgboost", "resnet34-lightgbm",
        "vgg16-lightgbm", "efficientnet_lite0-lightgbm"}


def tiny_settings(name):
    """TINY, and epochs of 8 drawn cells for a design that draws a fixed number an epoch."""
    fine_tuning = create_hybrid(name, pretrained=False).fine_tuning
    drawn = fine_tuning is not None and fine_tuning.samples_per_epoch is not None
    return {**TINY, "samples_per_epoch": 8} if drawn else TINY


@pytest.mark.parametrize("name", available_hybrids())
def test_every_named_hybrid_builds_and_classifies_two_images(name, tiny_images):
    images, labels = tiny_images
    classifier = create_hybrid(name, pretrained=False, **tiny_settings(name)).fit(images, labels)
    probabilities = classifier.predict_proba(images[:2])
    assert isinstance(classifier, HybridClassifier)
    assert probabilities.shape == (2, 2)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert classifier.classes_ == ["Koilocytotic", "Parabasal"]


def test_designs_keep_their_backbone_size_views_and_head():
    inception = create_hybrid("inception_v3-xgboost", pretrained=False)
    default = create_hybrid("efficientnet_lite0-lightgbm", pretrained=False)
    assert (inception.backbone, inception.image_size) == ("inception_v3", 299)
    assert isinstance(inception.head, XGBoostHead)
    assert default.views == ("identity", "hflip", "vflip", "rot180", "rot90", "rot270")
    assert default.head.get_params()["n_estimators"] == 800


def test_saved_xgboost_hybrid_loads_with_identical_probabilities(tiny_images, tmp_path):
    images, labels = tiny_images
    classifier = create_hybrid("inception_v3-xgboost", pretrained=False, **TINY)
    save_classifier(classifier.fit(images, labels), tmp_path, {"version": "inception-test-1"})
    loaded = load_classifier(tmp_path)
    assert isinstance(loaded.head_, XGBoostHead)
    assert loaded.classes_ == ["Koilocytotic", "Parabasal"]
    assert np.array_equal(loaded.predict_proba(images), classifier.predict_proba(images))


def test_unknown_hybrid_error_lists_the_available_names():
    with pytest.raises(KeyError, match="resnet34-lightgbm") as error:
        create_hybrid("alexnet-svm")
    assert "alexnet-svm" in str(error.value)


def test_unknown_setting_is_refused_with_the_valid_ones():
    with pytest.raises(TypeError, match="num_leaves"):
        create_hybrid("resnet34-lightgbm", pretrained=False, depth=3)


def test_missing_torchvision_weights_error_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("CELINSIGHT_WEIGHTS_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="shufflenet"):
        create_hybrid("shufflenet_v2-lightgbm")
