"""Grad-CAM with autograd, for a classifier whose backbone runs in torch.

The explainer's linear score of the class is back-propagated to the backbone's Grad-CAM
layer by pytorch-grad-cam. A classifier served with ONNX needs none of this: see :mod:`cam`.
"""

import copy

import numpy as np
import torch
from PIL import Image
from torch import nn

from .preprocessing import normalise


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


def torch_grad_cam_overlays(classifier, images, class_names):
    """Grad-CAM overlays of a torch :class:`HybridClassifier` (``explain.grad_cam_overlays``
    checks the arguments and calls this): PIL RGB images."""
    explainer = classifier.explainer_
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
