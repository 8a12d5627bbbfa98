"""Calibrated confidences and the "refer to cytologist" rule.

Both are fitted on out-of-fold predictions (cells whose cluster image the model did not
see), never on the training images, whose predictions are over-confident.

- Temperature scaling: one scalar T divides the log-probabilities before re-normalising.
  It changes no prediction, only how confident they are, so a calibrated 0.9 is right
  about 9 times in 10.
- Referral: a cell whose calibrated confidence is below a threshold is flagged for a
  cytologist. The threshold is the lowest one at which the cells kept (not referred) reach
  ``target_accuracy`` on the out-of-fold predictions.
"""

import numpy as np
from scipy.optimize import minimize_scalar

DEFAULT_TARGET_ACCURACY = 0.99


def apply_temperature(probabilities, temperature):
    """Probabilities re-scaled by ``temperature`` (>1 softens, <1 sharpens); rows sum to 1."""
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0))
    scaled = logits / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exponentials = np.exp(scaled)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def fit_temperature(probabilities, true_indices):
    """The temperature minimising the negative log-likelihood of the true classes."""
    true_indices = np.asarray(true_indices)

    def negative_log_likelihood(log_temperature):
        scaled = apply_temperature(probabilities, np.exp(log_temperature))
        return -np.mean(np.log(np.clip(scaled[np.arange(len(scaled)), true_indices],
                                       1e-12, 1.0)))

    best = minimize_scalar(negative_log_likelihood, bounds=(np.log(0.05), np.log(20.0)),
                           method="bounded")
    return float(np.exp(best.x))


def referral_threshold(probabilities, true_indices, target_accuracy=DEFAULT_TARGET_ACCURACY):
    """Lowest confidence threshold at which the kept predictions reach ``target_accuracy``.

    Returns a dict: threshold, target, and the out-of-fold referral rate and accuracy of
    the kept (not referred) cells at that threshold. If no threshold reaches the target,
    every cell is referred (threshold above 1).
    """
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(true_indices)
    order = np.argsort(-confidence, kind="stable")
    kept_accuracy = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    reaching = np.flatnonzero(kept_accuracy >= target_accuracy)
    # Cells tied at the cut-off confidence must all be kept or all be referred.
    for n_kept in reaching[::-1] + 1:
        threshold = confidence[order[n_kept - 1]]
        kept = confidence >= threshold
        if correct[kept].mean() >= target_accuracy:
            return _referral_summary(float(threshold), target_accuracy, kept, correct)
    return _referral_summary(1.0 + 1e-9, target_accuracy, np.zeros_like(correct), correct)


def _referral_summary(threshold, target_accuracy, kept, correct):
    return {
        "referral_threshold": threshold,
        "target_accuracy": target_accuracy,
        "referral_rate": float(1 - kept.mean()),
        "kept_accuracy": float(correct[kept].mean()) if kept.any() else None,
        "referred_accuracy": float(correct[~kept].mean()) if (~kept).any() else None,
    }


def fit_calibration(probabilities, true_indices, target_accuracy=DEFAULT_TARGET_ACCURACY):
    """Temperature and referral threshold from out-of-fold ``probabilities``.

    Returns the dict stored as ``calibration`` in a model's ``metadata.json``.
    """
    temperature = fit_temperature(probabilities, true_indices)
    calibrated = apply_temperature(probabilities, temperature)
    return {"method": "temperature scaling on out-of-fold predictions",
            "temperature": temperature,
            **referral_threshold(calibrated, true_indices, target_accuracy)}
