"""What a fitted classifier does with its backbone's features, whichever runtime computed them.

:class:`HybridClassifier` (torch) and :class:`serving.OnnxClassifier` (ONNX Runtime, no torch)
share it, so the head, calibration and referral rule are one code path. A model with
``blend_explainer`` set serves the mean of its head's probabilities and its linear
explainer's (a logistic regression on the same features, see :mod:`linear_explainer`).
A subclass provides ``extract_features(images)`` and ``pixel_features(pixels)``, and sets
``head_``, ``classes_`` and optionally ``calibration_``, ``explainer_`` and ``metadata_``.
"""

import numpy as np

from .calibration import apply_temperature


class HeadPredictions:
    """Probabilities, referral flags and class names from (n_views, n, d) features."""

    @property
    def version(self):
        """Artefact version from ``metadata.json``; None for a model not saved or loaded."""
        return getattr(self, "metadata_", {}).get("version")

    def predict_proba(self, images):
        """Class probabilities (n, n_classes) for PIL images; columns follow ``classes_``.

        Calibrated (temperature-scaled) once :meth:`calibrate` has been called.
        """
        return self.predict_proba_features(self.extract_features(images))

    def predict_proba_pixels(self, pixels):
        """:meth:`predict_proba` for prepared pixels from :meth:`prepare_pixels`."""
        return self.predict_proba_features(self.pixel_features(pixels))

    def predict_proba_features(self, features):
        """Probabilities for (n_views, n, d) features, averaged over views; rows sum to 1."""
        features = per_view(features)
        if features.shape[1] == 0:
            return np.empty((0, len(self.classes_)))
        per_view_probabilities = [np.asarray(self.head_.predict_proba(view), dtype=np.float64)
                                  for view in features]
        probabilities = np.mean(per_view_probabilities, axis=0)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        if getattr(self, "blend_explainer", False):
            probabilities = (probabilities + self._explainer_probabilities(features)) / 2
        calibration = getattr(self, "calibration_", None)
        if calibration:
            probabilities = apply_temperature(probabilities, calibration["temperature"])
        return probabilities

    def _explainer_probabilities(self, features):
        # The linear explainer's softmax, averaged over views, in the head's class order.
        explainer = getattr(self, "explainer_", None)
        if explainer is None:
            raise ValueError("This model blends its head with its linear explainer, which it "
                             "does not have: fit it (fit_features does) or load it.")
        columns = [explainer.classes_.index(name) for name in self.classes_]
        per_view_probabilities = [softmax(explainer.decision_function(view)[:, columns])
                                  for view in features]
        return np.mean(per_view_probabilities, axis=0)

    def calibrate(self, calibration):
        """Use a calibration from :func:`calibration.fit_calibration` (on out-of-fold
        predictions of this recipe): temperature and referral threshold. Returns self."""
        self.calibration_ = dict(calibration)
        return self

    def needs_referral(self, probabilities):
        """Boolean per row: calibrated confidence below the referral threshold, so the
        cell should be looked at by a cytologist. All False for an uncalibrated model."""
        probabilities = np.asarray(probabilities)
        threshold = getattr(self, "calibration_", {}).get("referral_threshold")
        if threshold is None:
            return np.zeros(len(probabilities), dtype=bool)
        return probabilities.max(axis=1) < threshold

    def predict(self, images):
        """Most probable class name per image."""
        probabilities = self.predict_proba(images)
        return [self.classes_[index] for index in probabilities.argmax(axis=1)]


def softmax(scores):
    """Row-wise softmax of (n, k) scores, in float64."""
    scores = np.asarray(scores, dtype=np.float64)
    exponentials = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def per_view(features):
    """Features as (n_views, n, d) float32; a 2-D (n, d) array is one view."""
    features = np.asarray(features, dtype=np.float32)
    return features[np.newaxis] if features.ndim == 2 else features
