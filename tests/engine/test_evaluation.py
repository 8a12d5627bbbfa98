import numpy as np
import pytest
from PIL import Image

from diagnostics.engine import (classification_metrics, expected_calibration_error,
                                format_markdown_table, save_confusion_matrix_png)

CLASSES = ["Dyskeratotic", "Koilocytotic", "Superficial-Intermediate"]


def test_confident_correct_predictions_have_zero_calibration_error():
    probabilities = np.eye(3)
    assert expected_calibration_error(CLASSES, probabilities, CLASSES) == 0.0


def test_calibrated_predictions_have_zero_calibration_error():
    # 80 % confident and right 8 times out of 10.
    probabilities = np.tile([0.8, 0.1, 0.1], (10, 1))
    labels = ["Dyskeratotic"] * 8 + ["Koilocytotic"] * 2
    assert expected_calibration_error(labels, probabilities, CLASSES) == pytest.approx(0.0)


def test_confident_but_half_wrong_predictions_have_calibration_error_one_half():
    probabilities = np.tile([1.0, 0.0, 0.0], (4, 1))
    labels = ["Dyskeratotic", "Dyskeratotic", "Koilocytotic", "Koilocytotic"]
    assert expected_calibration_error(labels, probabilities, CLASSES) == pytest.approx(0.5)


def test_metrics_include_ece_when_probabilities_are_given():
    labels = ["Dyskeratotic", "Koilocytotic"]
    metrics = classification_metrics(labels, labels, CLASSES, probabilities=np.eye(3)[:2])
    assert metrics["ece"] == 0.0 and metrics["accuracy"] == 1.0


@pytest.fixture
def metrics():
    true = ["Dyskeratotic"] * 3 + ["Koilocytotic"] * 2 + ["Superficial-Intermediate"] * 2
    predicted = ["Dyskeratotic"] * 2 + ["Koilocytotic"] * 3 + ["Superficial-Intermediate"] * 2
    probabilities = np.full((7, 3), 0.1)
    probabilities[np.arange(7), [CLASSES.index(name) for name in predicted]] = 0.8
    return classification_metrics(true, predicted, CLASSES, probabilities)


def test_markdown_table_lists_every_class_and_the_overall_figures(metrics):
    table = format_markdown_table(metrics)
    for name in CLASSES:
        assert f"| {name} |" in table
    assert "| Accuracy | 0.857 |" in table
    assert "| Macro-F1 |" in table and "| ECE (15 bins) |" in table
    assert table.splitlines()[0] == "| Class | Precision | Recall | F1 | Support |"


def test_confusion_matrix_png_is_written_and_opens(metrics, tmp_path):
    path = save_confusion_matrix_png(metrics["confusion_matrix"], CLASSES,
                                     tmp_path / "confusion_matrix.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > 3 * 48 and image.height > 3 * 48
