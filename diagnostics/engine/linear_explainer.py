"""The linear stand-in Grad-CAM follows, since the boosted head is not differentiable.

A multinomial logistic regression on the same backbone features as the head: its class
scores are a differentiable stand-in for the head's, and how often it picks the head's class
on the training features is recorded with it (``agreement_with_head`` in ``metadata.json``).
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

EXPLAINER_KIND = "logistic_regression"


class LinearExplainer:
    """Linear class scores on backbone features, ``features @ coef_.T + intercept_``.

    ``fit`` standardises the features for the solver, then folds the scaling into
    ``coef_``/``intercept_``, so the stored model works on raw features.
    """

    def __init__(self, C=1.0, max_iter=1000):
        self.C = C
        self.max_iter = max_iter

    def fit(self, features, labels):
        """Fit on (n, d) features and their labels; returns self."""
        scaler = StandardScaler().fit(features)
        model = LogisticRegression(C=self.C, max_iter=self.max_iter)
        model.fit(scaler.transform(features), np.asarray(labels).astype(str))
        coef = model.coef_ / scaler.scale_
        intercept = model.intercept_ - coef @ scaler.mean_
        if len(model.classes_) == 2:
            # scikit-learn keeps one row (the second class's score) for two classes.
            coef = np.vstack([-coef, coef]) / 2
            intercept = np.concatenate([-intercept, intercept]) / 2
        self.coef_ = coef.astype(np.float32)
        self.intercept_ = intercept.astype(np.float32)
        self.classes_ = [str(name) for name in model.classes_]
        return self

    def decision_function(self, features):
        """Class scores (n, n_classes) of (n, d) features; columns follow ``classes_``."""
        return np.asarray(features, dtype=np.float32) @ self.coef_.T + self.intercept_

    def predict(self, features):
        """Highest-scoring class name per row."""
        return np.asarray(self.classes_)[self.decision_function(features).argmax(axis=1)]

    def save(self, path):
        """Write ``coef``, ``intercept`` and ``classes`` with numpy (no pickle)."""
        with open(path, "wb") as stream:
            np.savez(stream, coef=self.coef_, intercept=self.intercept_,
                     classes=np.asarray(self.classes_, dtype=str))

    @classmethod
    def load(cls, path):
        """Read a file written by :meth:`save`."""
        explainer = cls()
        with np.load(path, allow_pickle=False) as arrays:
            explainer.coef_ = arrays["coef"]
            explainer.intercept_ = arrays["intercept"]
            explainer.classes_ = [str(name) for name in arrays["classes"]]
        return explainer

    def describe(self):
        """Fields for ``metadata.json`` besides the file and its sha256."""
        return {"kind": EXPLAINER_KIND, "classes": self.classes_,
                "n_features": int(self.coef_.shape[1]), "params": {"C": self.C},
                "agreement_with_head": getattr(self, "agreement_with_head_", None)}


def fit_explainer(classifier, features, labels):
    """Fit a :class:`LinearExplainer` on the features the head was fitted on.

    ``features`` is (n_views, n, d) (or (n, d)) like :meth:`HybridClassifier.fit_features`
    takes; every view of every image is one sample. The explainer is attached to the
    classifier as ``explainer_`` (saved with it) and returned; ``agreement_with_head_`` is
    the share of those samples on which it picks the head's class.
    """
    features = np.asarray(features, dtype=np.float32)
    if features.ndim == 2:
        features = features[np.newaxis]
    samples = features.reshape(-1, features.shape[-1])
    sample_labels = np.tile(np.asarray(labels).astype(str), len(features))
    explainer = LinearExplainer().fit(samples, sample_labels)
    head_classes = np.asarray(classifier.classes_)
    head_choice = head_classes[np.asarray(classifier.head_.predict_proba(samples)).argmax(axis=1)]
    agreement = np.mean(explainer.predict(samples) == head_choice)
    explainer.agreement_with_head_ = round(float(agreement), 4)
    classifier.explainer_ = explainer
    return explainer
