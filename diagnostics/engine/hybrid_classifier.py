"""Hybrid classifier: CNN features (pretrained, optionally fine-tuned) + a boosted head."""

import copy
from itertools import islice

import numpy as np
import torch
from tqdm.auto import tqdm

from .backbones import create_backbone
from .devices import resolve_torch_device
from .estimator import Estimator
from .finetuning import fine_tune, square_pixels
from .heads import LightGBMHead
from .linear_explainer import fit_explainer
from .predictions import HeadPredictions, per_view
from .precision import BFLOAT16, FLOAT32, backbone_autocast, resolve_precision
from .preprocessing import Preprocessing, normalise

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


class HybridClassifier(HeadPredictions, Estimator):
    """Classify PIL images of single cells with backbone features and a LightGBM head.

    >>> clf = HybridClassifier("efficientnet_lite0").fit(images, labels)
    >>> clf.predict_proba(new_images)   # (n, len(clf.classes_)), rows sum to 1

    ``views`` are flips/rotations (keys of ``VIEWS``): the head is trained on each view of
    every image and probabilities are averaged over them. With ``fine_tuning`` (a
    :class:`FineTuning`) ``fit`` first trains the backbone on the labelled images. ``clahe``
    adds contrast enhancement to the preprocessing. After :meth:`calibrate` (or loading a
    calibrated model) probabilities are temperature-scaled and :meth:`needs_referral`
    flags results whose confidence is below the referral threshold. ``explainer_`` (from
    :func:`linear_explainer.fit_explainer`, saved and loaded with the model when present) is
    what Grad-CAM explains. ``inference_precision`` (see :mod:`precision`) is how the backbone
    computes when it predicts; float32, what validation measures, unless set.
    ``batch_size`` images go through the backbone at a time; features do not depend on it
    (16 was faster than 8 or 32 for Lite0 at 128 px on 2 cores). ``get_params``,
    ``set_params`` and ``clone`` (an unfitted copy: a fresh, not fine-tuned backbone) come
    from :class:`Estimator`. ``device`` (auto, cpu or cuda; see :mod:`devices`) is where
    fine-tuning and feature extraction compute; the fitted backbone is kept on the CPU.
    With ``blend_explainer`` ``fit_features`` fits the explainer too, and probabilities are
    the mean of the head's and the explainer's (see :mod:`predictions`).
    """

    inference_precision = FLOAT32

    def __init__(self, backbone="efficientnet_lite0", head=None, image_size=224,
                 views=("identity",), batch_size=16, pretrained=True, fine_tuning=None,
                 clahe=False, device="cpu", blend_explainer=False):
        self.backbone = backbone
        self.head = head
        self.image_size = image_size
        self.views = tuple(views)
        self.batch_size = batch_size
        self.pretrained = pretrained
        self.fine_tuning = fine_tuning
        self.clahe = clahe
        self.device = device
        self.blend_explainer = blend_explainer

    def extract_features(self, images, batch_size=None, progress=False, views=None):
        """Backbone features of PIL images, shape (n_views, n_images, n_features).

        ``views`` defaults to the configured ones. Images are processed ``batch_size`` at a
        time and may come from a generator, so a data set never sits in memory at once.
        """
        self._ensure_backbone()
        batch_size = batch_size or self.batch_size
        total = -(-len(images) // batch_size) if hasattr(images, "__len__") else None
        batches = _chunks(images, batch_size)
        if progress:
            batches = tqdm(batches, total=total, desc="features", unit="batch")
        features = [self.pixel_features(self.prepare_pixels(batch), views=views)
                    for batch in batches]
        if not features:
            n_views = len(views or self.views)
            return np.empty((n_views, 0, self.backbone_.num_features), dtype=np.float32)
        return np.concatenate(features, axis=1)

    def prepare_pixels(self, images):
        """Resize/pad (and enhance) PIL images: uint8 tensor (n, size, size, 3)."""
        self._ensure_backbone()
        return square_pixels(images, self.preprocessing_)

    def pixel_features(self, pixels, views=None, batch_size=None):
        """Features (n_views, n, d) of prepared pixels from :meth:`prepare_pixels`."""
        self._ensure_backbone()
        views = tuple(views or self.views)
        batch_size = batch_size or self.batch_size
        backbone = self._inference_backbone()
        if isinstance(pixels, np.ndarray):
            pixels = torch.from_numpy(pixels)
        device = self._torch_device()
        per_batch = []
        with torch.inference_mode(), backbone_autocast(self.inference_precision):
            for start in range(0, len(pixels), batch_size):
                batch = normalise(pixels[start:start + batch_size].to(device),
                                  self.preprocessing_)
                per_batch.append(torch.stack(
                    [self._backbone_features(backbone, VIEWS[view](batch))
                     for view in views]).cpu())
        if not per_batch:
            return np.empty((len(views), 0, self.backbone_.num_features), dtype=np.float32)
        return torch.cat(per_batch, dim=1).numpy()

    def fit(self, images, labels):
        """Fine-tune the backbone if configured, then fit the head; returns self."""
        return self.fit_pixels(self.prepare_pixels(images), labels)

    def fit_pixels(self, pixels, labels, progress=False):
        """:meth:`fit` on prepared pixels (decoded and resized once, e.g. for k folds)."""
        self._ensure_backbone()
        if self.fine_tuning is not None:
            classes = sorted(set(map(str, labels)))
            indices = [classes.index(str(label)) for label in labels]
            fine_tune(self.backbone_, pixels, indices, self.preprocessing_,
                      self.fine_tuning, progress=progress, device=self._torch_device())
            self.fine_tuned_ = True
            self.inference_backbone_ = None
        return self.fit_features(self.pixel_features(pixels), labels)

    def fit_features(self, features, labels):
        """Fit the head on (n_views, n, d) features from :meth:`extract_features`.

        Every view of every image is one training sample. A 2-D (n, d) array is one view.
        """
        features = per_view(features)
        self.head_ = copy.deepcopy(self.head) if self.head is not None else LightGBMHead()
        self.head_.fit(features.reshape(-1, features.shape[-1]),
                       np.tile(np.asarray(labels), len(features)))
        self.classes_ = [str(label) for label in self.head_.classes_]
        self.explainer_ = None
        if self.blend_explainer:
            fit_explainer(self, features, labels)
        return self

    def _ensure_backbone(self):
        if getattr(self, "backbone_", None) is None:
            self.backbone_ = create_backbone(self.backbone, pretrained=self.pretrained)
        if getattr(self, "preprocessing_", None) is None:
            self.preprocessing_ = Preprocessing(
                self.image_size, self.backbone_.mean, self.backbone_.std, clahe=self.clahe)

    def _inference_backbone(self):
        # A copy with batch norms folded into the convolutions: same features, fewer passes
        # over memory. Rebuilt after fine-tuning changes the weights.
        if getattr(self, "inference_backbone_", None) is None:
            self.inference_backbone_ = self.backbone_.for_inference().to(self._torch_device())
            if self.inference_precision == BFLOAT16:
                # oneDNN's bfloat16 convolutions are fastest on channels-last tensors.
                self.inference_backbone_.to(memory_format=torch.channels_last)
        return self.inference_backbone_

    def _torch_device(self):
        return resolve_torch_device(getattr(self, "device", "cpu"))

    def _backbone_features(self, backbone, batch):
        if self.inference_precision != BFLOAT16:
            return backbone(batch)
        return backbone(batch.contiguous(memory_format=torch.channels_last)).float()

    def set_inference_precision(self, requested):
        """Predict in ``requested`` precision (``auto`` resolves per CPU); returns self."""
        self.inference_precision = resolve_precision(requested)
        self.inference_backbone_ = None  # rebuilt in the memory layout that precision wants
        return self


def _chunks(items, size):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk

