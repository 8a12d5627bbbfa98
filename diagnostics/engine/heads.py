"""Classifier heads trained on backbone features."""

import json
from pathlib import Path

import lightgbm
import numpy as np

from .estimator import Estimator
from .registry import Registry

HEADS = Registry("head")  # by ``kind``, the name a saved model's metadata.json records


class BoostedTreesHead(Estimator):
    """A gradient-boosted trees head on feature vectors, in scikit-learn style.

    Hyperparameters are set in ``__init__``; ``fit`` learns ``booster_`` and ``classes_``.
    ``save``/``load`` use the library's own text format (no pickle). Subclasses wrap one
    library: how to train, predict with, write and read its booster.
    """

    kind = None

    def fit(self, X, y):
        """Learn from features ``X`` (n, d) and labels ``y`` (any sortable values)."""
        encoded = self._encode_labels(y)
        self.booster_ = self._train(np.asarray(X, dtype=np.float32), encoded)
        self.n_features_in_ = self._n_features()
        return self

    def predict_proba(self, X):
        """Class probabilities (n, n_classes), columns in ``classes_`` order."""
        X = np.asarray(X, dtype=np.float32)
        return self._predict(X).reshape(len(X), len(self.classes_))

    def predict(self, X):
        """Most probable class label per row."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def save(self, path):
        """Write the fitted booster to ``path``; returns ``path``."""
        self._write(path)
        return path

    @classmethod
    def load(cls, path, classes=None, **params):
        """Read a model written by :meth:`save`.

        ``classes`` gives the labels of the probability columns; the model file only knows
        their count, so without it they are 0..k-1. ``params`` restores the
        hyperparameters for the record (and ``n_jobs`` for prediction).
        """
        head = cls(**params)
        head.booster_ = head._read(path)
        head.classes_ = np.asarray(classes if classes is not None
                                   else np.arange(head._n_classes()))
        head.n_features_in_ = head._n_features()
        return head

    def _encode_labels(self, y):
        """Learn ``classes_`` (sorted) from labels; return the labels as 0..k-1."""
        self.classes_, encoded = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs at least two classes to fit")
        return encoded


def balanced_weights(encoded):
    """Per-sample weights n / (k * count of its class), as scikit-learn's "balanced"."""
    counts = np.bincount(encoded)
    return (len(encoded) / (np.count_nonzero(counts) * counts))[encoded]


class LightGBMHead(BoostedTreesHead):
    """LightGBM's gradient-boosted trees; saved in LightGBM's plain-text model format."""

    kind = "lightgbm"

    def __init__(self, n_estimators=800, learning_rate=0.05, num_leaves=15,
                 min_child_samples=20, colsample_bytree=0.1, subsample=0.8,
                 reg_lambda=1.0, random_state=0, n_jobs=2, class_weight=None):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.colsample_bytree = colsample_bytree
        self.subsample = subsample
        self.reg_lambda = reg_lambda
        self.random_state = random_state
        self.n_jobs = n_jobs
        # "balanced": each class weighs as much as any other in training, however few its
        # cells (CRIC has 3,555 NILM cells and 63 SCC); None: every cell weighs the same.
        self.class_weight = class_weight

    def _train(self, X, encoded):
        weights = balanced_weights(encoded) if self.class_weight == "balanced" else None
        return lightgbm.train(self._lightgbm_params(),
                              lightgbm.Dataset(X, label=encoded, weight=weights),
                              num_boost_round=self.n_estimators)

    def _predict(self, X):
        return self.booster_.predict(X, num_threads=self.n_jobs)

    def _write(self, path):
        self.booster_.save_model(str(path))

    def _read(self, path):
        return lightgbm.Booster(model_file=str(path))

    def _n_classes(self):
        return self.booster_.num_model_per_iteration()

    def _n_features(self):
        return self.booster_.num_feature()

    def _lightgbm_params(self):
        return {
            "objective": "multiclass",
            "num_class": len(self.classes_),
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.colsample_bytree,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "lambda_l2": self.reg_lambda,
            "seed": self.random_state,
            "num_threads": self.n_jobs,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }


class XGBoostHead(BoostedTreesHead):
    """XGBoost's gradient-boosted trees; saved in XGBoost's JSON model format."""

    kind = "xgboost"

    def __init__(self, n_estimators=800, learning_rate=0.05, max_depth=4,
                 min_child_weight=1.0, colsample_bytree=0.1, subsample=0.8,
                 reg_lambda=1.0, random_state=0, n_jobs=2):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.colsample_bytree = colsample_bytree
        self.subsample = subsample
        self.reg_lambda = reg_lambda
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _train(self, X, encoded):
        dataset = _xgboost().DMatrix(X, label=encoded, nthread=self.n_jobs)
        return _xgboost().train(self._xgboost_params(), dataset,
                             num_boost_round=self.n_estimators)

    def _predict(self, X):
        return self.booster_.predict(_xgboost().DMatrix(X, nthread=self.n_jobs))

    def _write(self, path):
        # XGBoost picks the format from the file extension (UBJSON unless ".json"); the
        # hybrid's file is "head.txt", so ask for JSON explicitly.
        Path(path).write_bytes(bytes(self.booster_.save_raw(raw_format="json")))

    def _read(self, path):
        return _xgboost().Booster(params={"nthread": self.n_jobs},
                               model_file=bytearray(Path(path).read_bytes()))

    def _n_classes(self):
        config = json.loads(self.booster_.save_config())
        return int(config["learner"]["learner_model_param"]["num_class"])

    def _n_features(self):
        return self.booster_.num_features()

    def _xgboost_params(self):
        return {
            "objective": "multi:softprob",
            "num_class": len(self.classes_),
            "eta": self.learning_rate,
            "max_depth": self.max_depth,
            "min_child_weight": self.min_child_weight,
            "colsample_bytree": self.colsample_bytree,
            "subsample": self.subsample,
            "lambda": self.reg_lambda,
            "seed": self.random_state,
            "nthread": self.n_jobs,
            "tree_method": "hist",
            "verbosity": 0,
        }


def _xgboost():
    # Imported on first use: a worker serving a LightGBM head never needs it (20 MB, 1 s).
    import xgboost

    return xgboost


HEADS.register(LightGBMHead.kind)(LightGBMHead)
HEADS.register(XGBoostHead.kind)(XGBoostHead)
