import numpy as np
import pytest

from diagnostics.engine import HybridClassifier
from tests.engine.conftest import SMALL_HEAD


def test_probabilities_have_one_column_per_class_and_rows_sum_to_one(fitted, tiny_images):
    probabilities = fitted.predict_proba(tiny_images[0])
    assert probabilities.shape == (20, 5)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities >= 0).all()


def test_classes_are_the_label_names_in_column_order(fitted, tiny_images):
    assert fitted.classes_ == sorted(set(tiny_images[1]))
    assert set(fitted.predict(tiny_images[0][:3])) <= set(fitted.classes_)


def test_no_images_give_an_empty_probability_table(fitted):
    assert fitted.predict_proba([]).shape == (0, 5)


def test_grayscale_images_are_accepted(fitted, tiny_images):
    grey = [image.convert("L") for image in tiny_images[0][:2]]
    assert fitted.predict_proba(grey).shape == (2, 5)
