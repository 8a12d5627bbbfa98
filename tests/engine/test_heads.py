import numpy as np
import pytest

from diagnostics.engine import XGBoostHead
from diagnostics.engine.heads import HEADS

SMALL = {"n_estimators": 10, "max_depth": 2, "colsample_bytree": 1.0}


@pytest.fixture(scope="module")
def features_and_labels():
    rng = np.random.default_rng(0)
    labels = np.array(["Parabasal", "Dyskeratotic", "Superficial-Intermediate"] * 10)
    features = rng.normal(size=(30, 6)) + (labels == "Parabasal")[:, None]
    return features, labels


@pytest.fixture(scope="module")
def fitted(features_and_labels):
    return XGBoostHead(**SMALL).fit(*features_and_labels)


def test_xgboost_probabilities_have_one_column_per_class_and_rows_sum_to_one(
        fitted, features_and_labels):
    probabilities = fitted.predict_proba(features_and_labels[0])
    assert probabilities.shape == (30, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert fitted.n_features_in_ == 6


def test_xgboost_classes_are_the_sorted_label_names(fitted):
    assert list(fitted.classes_) == ["Dyskeratotic", "Parabasal", "Superficial-Intermediate"]
    assert set(fitted.predict(np.zeros((2, 6)))) <= set(fitted.classes_)


def test_xgboost_save_and_load_give_identical_probabilities_and_labels(
        fitted, features_and_labels, tmp_path):
    path = fitted.save(tmp_path / "head.txt")
    loaded = XGBoostHead.load(path, classes=list(fitted.classes_), **fitted.get_params())
    assert list(loaded.classes_) == list(fitted.classes_)
    assert loaded.get_params() == fitted.get_params()
    assert np.array_equal(loaded.predict_proba(features_and_labels[0]),
                          fitted.predict_proba(features_and_labels[0]))
    assert list(loaded.predict(features_and_labels[0])) == list(
        fitted.predict(features_and_labels[0]))


def test_xgboost_head_is_saved_as_json_not_pickle(fitted, tmp_path):
    fitted.save(tmp_path / "head.txt")
    assert (tmp_path / "head.txt").read_text().startswith('{"learner"')


def test_xgboost_head_needs_two_classes():
    with pytest.raises(ValueError, match="two classes"):
        XGBoostHead(**SMALL).fit(np.zeros((4, 2)), ["a"] * 4)


def test_saved_xgboost_hybrid_loads_by_its_kind():
    assert HEADS["xgboost"] is XGBoostHead
