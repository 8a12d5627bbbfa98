"""Grad-CAM heat maps from a backbone's feature map alone: no autograd, no torch.

The explainer scores class k as ``pool(act(A)) @ coef[k] + intercept[k]``, where A is the
Grad-CAM layer's map (C, h, w), ``act`` what lies between it and global average pooling
(ReLU6 for EfficientNet-Lite, nothing for the others) and ``pool`` the mean over h x w. The
gradient of that score with respect to A is therefore known in closed form,

    d score / d A[c, y, x] = coef[k, c] / (h * w) * act'(A[c, y, x]),

with ReLU6's derivative 1 strictly between 0 and 6 and 0 elsewhere (as torch computes it).
Grad-CAM's channel weights are the mean of that gradient over the map, and the rest of the
computation (ReLU of the weighted sum, rescaling to 0..1, bilinear resize to the image, the
JET overlay) follows pytorch-grad-cam 1.5 step by step, so the overlays equal the torch
path's up to float32 rounding.
"""

import cv2
import numpy as np
from PIL import Image

CAM_ACTIVATIONS = ("relu6", "identity")


def grad_cam_maps(feature_maps, coef, activation, image_size):
    """Heat maps (n, S, S) in 0..1 of ``feature_maps`` (n, C, h, w), each for the explainer
    row ``coef[i]`` (n, C) of the class to explain."""
    feature_maps = np.asarray(feature_maps, dtype=np.float32)
    coef = np.asarray(coef, dtype=np.float32)
    area = feature_maps.shape[2] * feature_maps.shape[3]
    if activation == "relu6":
        passes = ((feature_maps > 0) & (feature_maps < 6)).astype(np.float32)
    elif activation == "identity":
        passes = np.ones_like(feature_maps)
    else:
        raise ValueError(f"Unknown activation {activation!r}; known: {', '.join(CAM_ACTIVATIONS)}")
    gradients = coef[:, :, None, None] * np.float32(1.0 / area) * passes
    weights = gradients.mean(axis=(2, 3))
    cams = np.maximum((weights[:, :, None, None] * feature_maps).sum(axis=1), 0)
    resized = _rescale(cams, (image_size, image_size))
    return _rescale(np.maximum(resized, 0))


def _rescale(maps, size=None):
    # pytorch-grad-cam's scale_cam_image: shift to 0, divide by the max, optionally resize.
    result = []
    for heat in maps:
        heat = heat - np.min(heat)
        heat = heat / (1e-7 + np.max(heat))
        if size is not None:
            heat = cv2.resize(np.float32(heat), size)
        result.append(heat)
    return np.float32(result)


def overlay(pixels, heat):
    """The heat map laid over the prepared cell ``pixels`` (S, S, 3 uint8): PIL RGB image,
    half cell, half JET colour map (as pytorch-grad-cam's show_cam_on_image)."""
    cell = np.asarray(pixels).astype(np.float32) / 255.0
    colours = cv2.applyColorMap(np.uint8(255 * heat), cv2.COLORMAP_JET)
    colours = np.float32(cv2.cvtColor(colours, cv2.COLOR_BGR2RGB)) / 255
    blended = 0.5 * colours + 0.5 * cell
    blended = blended / np.max(blended)
    return Image.fromarray(np.uint8(255 * blended), mode="RGB")
