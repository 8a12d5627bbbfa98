"""Training on a CRIC-layout folder: crops cut as the product cuts them, grouped by field,
classes balanced."""
import numpy as np
from PIL import Image

from diagnostics.engine import group_keys, list_image_folder, load_classifier, train_and_evaluate
from diagnostics.engine.cric import CRIC_GROUP_PATTERN, cut_cric_crops
from diagnostics.engine.heads import LightGBMHead, balanced_weights
from diagnostics.engine.holdout import sensitivity_at_specificity
from tests.engine.conftest import HSIL, NILM

TINY = {"image_size": 32, "views": ["identity"], "n_estimators": 5, "min_child_samples": 1,
        "class_weight": "balanced"}


def test_cells_are_cut_once_into_a_folder_per_category(cric_dir, tmp_path):
    crops = cut_cric_crops(cric_dir, 48, tmp_path)
    dataset = list_image_folder(crops)
    assert dataset.counts_per_class() == {HSIL: 4, NILM: 12}
    with Image.open(dataset.paths[0]) as crop:
        assert crop.size == (48, 48)
    written = [path.stat().st_mtime_ns for path in dataset.paths]
    assert cut_cric_crops(cric_dir, 48, tmp_path) == crops
    assert [path.stat().st_mtime_ns for path in dataset.paths] == written
    assert cut_cric_crops(cric_dir, 64, tmp_path) != crops


def test_a_fields_cells_form_one_group_whatever_their_category(cric_dir, tmp_path):
    dataset = list_image_folder(cut_cric_crops(cric_dir, 48, tmp_path))
    groups = group_keys(dataset, CRIC_GROUP_PATTERN, per_class=False)
    assert sorted(set(groups)) == ["f0", "f1", "f2", "f3"]


def test_a_cric_folder_trains_by_one_call_recording_its_crop_size(cric_dir, tmp_path):
    metadata = train_and_evaluate(cric_dir, tmp_path / "model", hybrid="efficientnet_lite0-lightgbm",
                                  overrides=TINY, n_folds=2, cache_dir=tmp_path / "features",
                                  pretrained=False, progress=False, crop_size=48)
    assert metadata["crop"]["size"] == 48
    assert metadata["training_data"]["layout"] == "images/ + cells.csv"
    assert metadata["training_data"]["n_groups"] == 4
    assert "fields of view" in metadata["validation"]["protocol"]
    assert metadata["validation"]["abnormal_vs_normal"]["abnormal_classes"] == [HSIL]
    assert metadata["head"]["params"]["class_weight"] == "balanced"
    assert metadata["role"] == "bethesda"
    assert "class_weight balanced" in metadata["served_probabilities"]
    assert load_classifier(tmp_path / "model").classes_ == [HSIL, NILM]


def test_balanced_weights_give_each_class_the_same_total():
    weights = balanced_weights(np.array([0, 0, 0, 1]))
    assert np.allclose(weights, [2 / 3, 2 / 3, 2 / 3, 2])


def test_a_balanced_head_leans_toward_the_rare_class():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (200, 4)), rng.normal(0.7, 1, (10, 4))])
    y = np.array(["common"] * 200 + ["rare"] * 10)
    settings = {"n_estimators": 30, "min_child_samples": 2, "colsample_bytree": 1.0}
    plain = LightGBMHead(**settings).fit(X, y).predict_proba(X)[:, 1].mean()
    balanced = LightGBMHead(class_weight="balanced", **settings).fit(X, y).predict_proba(X)[:, 1]
    assert balanced.mean() > 2 * plain


def test_sensitivity_is_read_where_specificity_is_at_least_the_target():
    classes = [HSIL, NILM]
    labels = [NILM] * 10 + [HSIL] * 4
    abnormal = np.r_[np.linspace(0, 0.5, 10), [0.9, 0.8, 0.3, 0.1]]
    probabilities = np.c_[abnormal, 1 - abnormal]
    figures = sensitivity_at_specificity(probabilities, labels, classes, 0.90)
    assert figures["specificity"] >= 0.90 and figures["sensitivity"] == 0.5
