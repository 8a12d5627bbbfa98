"""A head blended with the linear explainer: probabilities are the mean of both heads'."""
import numpy as np
import pytest

from diagnostics.engine import HybridClassifier, LightGBMHead, load_classifier, save_classifier
from diagnostics.engine.predictions import softmax
from diagnostics.engine.served_model import describe_served_probabilities

HEAD = LightGBMHead(n_estimators=10, num_leaves=4, min_child_samples=1)


@pytest.fixture(scope="module")
def blended(tiny_images):
    images, labels = tiny_images
    return HybridClassifier(head=HEAD, image_size=64, pretrained=False, fine_tuning=None,
                            blend_explainer=True).fit(images, labels)


def test_fitting_the_features_fits_the_explainer_and_blends_both_heads(blended, tiny_images):
    features = blended.extract_features(tiny_images[0][:6])[0]
    head = blended.head_.predict_proba(features)
    linear = softmax(blended.explainer_.decision_function(features))
    np.testing.assert_allclose(blended.predict_proba_features(features), (head + linear) / 2,
                               atol=1e-9)


def test_a_plain_head_has_no_explainer_until_one_is_fitted(tiny_images):
    images, labels = tiny_images
    plain = HybridClassifier(head=HEAD, image_size=64, pretrained=False).fit(images, labels)
    assert plain.explainer_ is None


def test_the_blend_is_saved_described_and_served_by_both_runtimes(blended, tiny_images,
                                                                  tmp_path):
    blended.calibrate({"temperature": 1.5, "referral_threshold": 0.9, "referral_rate": 0.2,
                       "kept_accuracy": 0.99, "ece_before": 0.1, "ece_after": 0.05})
    save_classifier(blended, tmp_path, {"version": "blend-1",
                                        "validation": {"per_fold_accuracy": [0.9]}})
    assert blended.metadata_["head"]["blend_explainer"] is True
    assert "the mean of the LightGBM head's and the linear explainer's" in \
        describe_served_probabilities(blended.metadata_)
    images = tiny_images[0][:6]
    expected = blended.predict_proba(images)
    for runtime in ("torch", "onnx"):
        loaded = load_classifier(tmp_path, runtime=runtime, threads=1)
        assert loaded.blend_explainer
        np.testing.assert_allclose(loaded.predict_proba(images), expected, atol=1e-4)


def test_a_blending_model_without_its_explainer_says_so(blended, tiny_images):
    features = blended.extract_features(tiny_images[0][:2])
    explainer, blended.explainer_ = blended.explainer_, None
    try:
        with pytest.raises(ValueError, match="linear explainer"):
            blended.predict_proba_features(features)
    finally:
        blended.explainer_ = explainer
