"""Why a cell got its class: Grad-CAM heat maps over the cell image.

The boosted head is not differentiable, so Grad-CAM follows an *explainer* instead: a
multinomial logistic regression fitted on the same backbone features as the head. Its class
scores are a differentiable stand-in for the head's; how often it picks the head's class on
the training features is recorded with it (``agreement_with_head`` in ``metadata.json``).

Training adds the explainer to a new model; this adds one to a model folder that has none
(features of the data set come from the model's own backbone, the other files are kept):

    python -m diagnostics.engine.explain --model diagnostics/trained_models/default \\
        --data ../shared/datasets/sipakmed
"""

import argparse
import copy
import json
import warnings

import numpy as np
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from torch import nn

from .datasets import list_image_folder
from .hybrid import load_classifier
from .preprocessing import normalise

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


class _ExplainedBackbone(nn.Module):
    """Backbone then the explainer's linear scores: (N, 3, S, S) -> (N, n_classes)."""

    def __init__(self, backbone, explainer):
        super().__init__()
        self.backbone = backbone
        self.register_buffer("coef", torch.from_numpy(np.asarray(explainer.coef_, np.float32)))
        self.register_buffer("intercept",
                             torch.from_numpy(np.asarray(explainer.intercept_, np.float32)))

    def forward(self, batch):
        return self.backbone(batch) @ self.coef.T + self.intercept


def grad_cam_overlays(classifier, images, class_names):
    """Grad-CAM heat maps of ``class_names[i]`` over ``images[i]``, as PIL RGB images.

    The map is computed on the backbone's last convolutional layer for the explainer's
    score of the class, and laid over the prepared (resized, padded) square cell image.
    Raises ValueError when the classifier has no explainer.
    """
    explainer = getattr(classifier, "explainer_", None)
    if explainer is None:
        raise ValueError("This model has no explainer, so no Grad-CAM; add one with "
                         "`python -m diagnostics.engine.explain --model DIR --data DIR`.")
    images, class_names = list(images), list(class_names)
    if len(images) != len(class_names):
        raise ValueError(f"{len(images)} images but {len(class_names)} class names")
    if not images:
        return []
    # Imported here: the package brings torchvision and more (about 2 s), which every worker
    # would otherwise pay at start, since loading a model loads its explainer.
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    classifier._ensure_backbone()
    # A non-fused copy (the fused inference copy lacks the batch norms the layers name),
    # frozen: gradients flow from the input instead, so no weight gradients are computed.
    backbone = copy.deepcopy(classifier.backbone_).eval().requires_grad_(False)
    model = _ExplainedBackbone(backbone, explainer).eval()
    overlays = []
    with torch.enable_grad(), GradCAM(model=model, target_layers=backbone.cam_layers()) as cam:
        for start in range(0, len(images), classifier.batch_size):
            chunk = slice(start, start + classifier.batch_size)
            pixels = classifier.prepare_pixels(images[chunk])
            targets = [ClassifierOutputTarget(explainer.classes_.index(name))
                       for name in class_names[chunk]]
            batch = normalise(pixels, classifier.preprocessing_).requires_grad_(True)
            maps = cam(input_tensor=batch, targets=targets)
            overlays += [_overlay(cell, heat) for cell, heat in zip(pixels.numpy(), maps)]
    return overlays


def _overlay(pixels, heat):
    from pytorch_grad_cam.utils.image import show_cam_on_image

    cell = pixels.astype(np.float32) / 255.0
    return Image.fromarray(show_cam_on_image(cell, heat, use_rgb=True), mode="RGB")


def add_explainer(model_dir, data_dir, progress=True):
    """Fit an explainer for the model in ``model_dir`` on the images of ``data_dir`` (one
    sub-folder per class) and write it into the folder; returns the updated metadata."""
    classifier = load_classifier(model_dir)
    dataset = list_image_folder(data_dir)
    unknown = sorted(set(dataset.labels) - set(classifier.classes_))
    if unknown:
        raise ValueError(f"{data_dir} has classes the model does not know: {', '.join(unknown)}")
    trained_on = classifier.metadata_.get("training_data", {}).get("file_list_sha256")
    if trained_on and trained_on != dataset.file_list_sha256():
        warnings.warn(f"{data_dir} is not the file list the model was trained on; the "
                      f"explainer's agreement with the head is measured on these images")
    features = classifier.extract_features(dataset.images(), progress=progress)
    fit_explainer(classifier, features, dataset.labels)
    classifier.save_explainer(model_dir)
    return classifier.metadata_


def main(argv=None):
    parser = argparse.ArgumentParser(description="Add a Grad-CAM explainer to a saved model.")
    parser.add_argument("--model", required=True, help="model folder (holds metadata.json)")
    parser.add_argument("--data", required=True, help="its training images, a folder per class")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    metadata = add_explainer(args.model, args.data)
    print(json.dumps(metadata["explainer"], indent=2))


if __name__ == "__main__":
    main()
