"""Hybrid classifier: frozen pretrained CNN features + a gradient-boosted head."""

import copy
import hashlib
import json
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .backbones import create_backbone
from .heads import HEADS, LightGBMHead
from .preprocessing import Preprocessing, images_to_batch

METADATA_FILE = "metadata.json"
HEAD_FILE = "head.txt"
ARTEFACT_FORMAT = 1

# Cells have no canonical orientation: a flipped or rotated cell is the same cell. The head
# learns from every view of each training image and predictions average over the views,
# which beat averaging the views' features (grouped 5-fold macro-F1 0.926 vs 0.908).
VIEWS = {
    "identity": lambda batch: batch,
    "hflip": lambda batch: torch.flip(batch, dims=[3]),
    "vflip": lambda batch: torch.flip(batch, dims=[2]),
    "rot90": lambda batch: torch.rot90(batch, 1, dims=[2, 3]),
    "rot180": lambda batch: torch.rot90(batch, 2, dims=[2, 3]),
    "rot270": lambda batch: torch.rot90(batch, 3, dims=[2, 3]),
}


class HybridClassifier:
    """Classify PIL images of single cells with backbone features and a LightGBM head.

    >>> clf = HybridClassifier("efficientnet_lite0").fit(images, labels)
    >>> clf.predict_proba(new_images)   # (n, len(clf.classes_)), rows sum to 1

    ``views`` are flips/rotations (keys of ``VIEWS``): the head is trained on each view of
    every image and probabilities are averaged over them.
    """

    def __init__(self, backbone="efficientnet_lite0", head=None, image_size=224,
                 views=("identity",), batch_size=8, pretrained=True):
        self.backbone = backbone
        self.head = head
        self.image_size = image_size
        self.views = tuple(views)
        self.batch_size = batch_size
        self.pretrained = pretrained

    def get_params(self):
        """Constructor arguments, scikit-learn style (for cloning and metadata)."""
        return {"backbone": self.backbone, "head": self.head, "image_size": self.image_size,
                "views": self.views, "batch_size": self.batch_size,
                "pretrained": self.pretrained}

    @property
    def version(self):
        """Artefact version from ``metadata.json``; None for a model not saved or loaded."""
        return getattr(self, "metadata_", {}).get("version")

    def extract_features(self, images, batch_size=None, progress=False, views=None):
        """Backbone features of PIL images, shape (n_views, n_images, n_features).

        ``views`` defaults to the configured ones. Images are processed ``batch_size`` at a
        time and may come from a generator, so a data set never sits in memory at once.
        """
        self._ensure_backbone()
        batch_size = batch_size or self.batch_size
        views = tuple(views or self.views)
        total = -(-len(images) // batch_size) if hasattr(images, "__len__") else None
        batches = _chunks(images, batch_size)
        if progress:
            batches = tqdm(batches, total=total, desc="features", unit="batch")
        features = [self._features_of_batch(batch, views) for batch in batches]
        if not features:
            return np.empty((len(views), 0, self.backbone_.num_features), dtype=np.float32)
        return np.concatenate(features, axis=1)

    def fit(self, images, labels):
        """Extract features of ``images`` and fit the head on them; returns self."""
        return self.fit_features(self.extract_features(images), labels)

    def fit_features(self, features, labels):
        """Fit the head on (n_views, n, d) features from :meth:`extract_features`.

        Every view of every image is one training sample. A 2-D (n, d) array is one view.
        """
        features = _per_view(features)
        labels = np.tile(np.asarray(labels), len(features))
        self.head_ = copy.deepcopy(self.head) if self.head is not None else LightGBMHead()
        self.head_.fit(features.reshape(-1, features.shape[-1]), labels)
        self.classes_ = [str(label) for label in self.head_.classes_]
        return self

    def predict_proba(self, images):
        """Class probabilities (n, n_classes) for PIL images; columns follow ``classes_``."""
        return self.predict_proba_features(self.extract_features(images))

    def predict_proba_features(self, features):
        """Probabilities for (n_views, n, d) features, averaged over views; rows sum to 1."""
        features = _per_view(features)
        if features.shape[1] == 0:
            return np.empty((0, len(self.classes_)))
        per_view = [np.asarray(self.head_.predict_proba(view), dtype=np.float64)
                    for view in features]
        probabilities = np.mean(per_view, axis=0)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, images):
        """Most probable class name per image."""
        probabilities = self.predict_proba(images)
        return [self.classes_[index] for index in probabilities.argmax(axis=1)]

    def save(self, directory, metadata=None):
        """Write ``head.txt`` and ``metadata.json`` into ``directory``; returns its Path.

        ``metadata`` (version, training summary, validation...) is stored alongside the
        fields needed to rebuild the classifier, which take precedence.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        head_path = directory / HEAD_FILE
        self.head_.save(head_path)
        self.metadata_ = {**(metadata or {}), **self._artefact_fields(head_path)}
        text = json.dumps(self.metadata_, indent=2, sort_keys=False, default=_json_default)
        (directory / METADATA_FILE).write_text(text + "\n", encoding="utf-8")
        return directory

    def _artefact_fields(self, head_path):
        self._ensure_backbone()
        return {
            "artefact_format": ARTEFACT_FORMAT,
            "classes": list(self.classes_),
            "backbone": {"name": self.backbone, "pretrained": self.pretrained,
                         "num_features": self.backbone_.num_features,
                         **_weights_fields(self.backbone_.weights_file)},
            "head": {"kind": self.head_.kind, "file": head_path.name,
                     "sha256": file_sha256(head_path), "params": self.head_.get_params()},
            "preprocessing": {**self.preprocessing_.to_dict(), "views": list(self.views)},
        }

    def _ensure_backbone(self):
        if getattr(self, "backbone_", None) is None:
            self.backbone_ = create_backbone(self.backbone, pretrained=self.pretrained)
        if getattr(self, "preprocessing_", None) is None:
            self.preprocessing_ = Preprocessing(
                self.image_size, self.backbone_.mean, self.backbone_.std)

    def _features_of_batch(self, images, views):
        batch = images_to_batch(images, self.preprocessing_)
        with torch.inference_mode():
            return torch.stack([self.backbone_(VIEWS[view](batch)) for view in views]).numpy()


def load_classifier(directory):
    """Load a classifier saved with :meth:`HybridClassifier.save`.

    Checks the head file against the sha256 recorded in ``metadata.json``.
    """
    directory = Path(directory)
    metadata_path = directory / METADATA_FILE
    if not metadata_path.is_file():
        raise FileNotFoundError(f"No {METADATA_FILE} in {directory}; is it a trained model "
                                f"folder? Train one with `manage.py train_classifier`.")
    metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    head_path = directory / metadata["head"]["file"]
    if file_sha256(head_path) != metadata["head"]["sha256"]:
        raise ValueError(f"{head_path} does not match the sha256 in {METADATA_FILE}: the model "
                         f"files are corrupt or mixed up. Restore or re-train the model.")
    preprocessing = metadata["preprocessing"]
    classifier = HybridClassifier(
        backbone=metadata["backbone"]["name"], image_size=preprocessing["image_size"],
        views=preprocessing.get("views", ["identity"]),
        pretrained=metadata["backbone"]["pretrained"])
    classifier.preprocessing_ = Preprocessing.from_dict(preprocessing)
    classifier._ensure_backbone()
    _check_backbone_weights(classifier.backbone_, metadata["backbone"])
    head_class, head_params = HEADS[metadata["head"]["kind"]], metadata["head"]["params"]
    classifier.head = head_class(**head_params)
    classifier.head_ = head_class.load(head_path, classes=metadata["classes"], **head_params)
    classifier.classes_ = list(metadata["classes"])
    classifier.metadata_ = metadata
    return classifier


def file_sha256(path):
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _weights_fields(weights_file):
    if weights_file is None:
        return {"weights_file": None, "weights_sha256": None}
    return {"weights_file": Path(weights_file).name, "weights_sha256": file_sha256(weights_file)}


def _check_backbone_weights(backbone, recorded):
    # The head only makes sense on the exact features it was trained on; a silently
    # different weights file (e.g. a package upgrade) would shift every prediction.
    expected = recorded.get("weights_sha256")
    if expected and _weights_fields(backbone.weights_file)["weights_sha256"] != expected:
        raise ValueError(
            f"The installed {backbone.name} weights ({backbone.weights_file}) differ from "
            f"those the model was trained with (sha256 {expected[:12]}...). Install the "
            f"package versions listed in metadata.json or re-train the model.")


def _per_view(features):
    features = np.asarray(features, dtype=np.float32)
    return features[np.newaxis] if features.ndim == 2 else features


def _chunks(items, size):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Cannot store {type(value).__name__} in {METADATA_FILE}")
