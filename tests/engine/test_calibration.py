import numpy as np

from diagnostics.engine.calibration import (apply_temperature, fit_calibration,
                                            fit_temperature, referral_threshold)


def overconfident_predictions(n=2000, seed=0):
    """Three classes; the true model is softmax(logits), the reported one is sharpened 3x."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, 3))
    true_probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(3, p=row) for row in true_probabilities])
    return apply_temperature(true_probabilities, 1 / 3), labels


def test_temperature_undoes_overconfidence():
    reported, labels = overconfident_predictions()
    assert 2.5 < fit_temperature(reported, labels) < 3.5


def test_temperature_never_changes_the_predicted_class():
    reported, _ = overconfident_predictions(n=200)
    assert (apply_temperature(reported, 2.7).argmax(1) == reported.argmax(1)).all()


def test_referral_keeps_only_cells_confident_enough_to_meet_the_target():
    probabilities = np.array([[0.99, 0.01], [0.95, 0.05], [0.9, 0.1], [0.6, 0.4], [0.55, 0.45]])
    labels = np.array([0, 0, 0, 1, 0])
    summary = referral_threshold(probabilities, labels, target_accuracy=0.99)
    assert summary["referral_threshold"] == 0.9
    assert summary["referral_rate"] == 0.4
    assert summary["kept_accuracy"] == 1.0


def test_when_no_threshold_reaches_the_target_every_cell_is_referred():
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2]])
    summary = referral_threshold(probabilities, np.array([1, 1]), target_accuracy=0.99)
    assert summary["referral_rate"] == 1.0
    assert summary["referral_threshold"] > 1


def test_fit_calibration_reports_temperature_and_referral():
    reported, labels = overconfident_predictions()
    calibration = fit_calibration(reported, labels, target_accuracy=0.95)
    assert {"temperature", "referral_threshold", "referral_rate",
            "kept_accuracy"} <= set(calibration)
    assert calibration["kept_accuracy"] >= 0.95
