"""Export a backbone to ONNX, so workers serve it with ONNX Runtime instead of torch.

The exported graph maps normalised pixels (N, 3, S, S) to two outputs: the pooled
``features`` the head reads, and the ``feature_map`` of the backbone's Grad-CAM layer (the
last convolutional map before pooling). With a linear explainer on globally pooled features,
Grad-CAM's weights follow from that map alone (see :mod:`cam`), so heat maps need no
autograd. Training saves the export with the model; for a model saved before, add it with

    python manage.py export_onnx diagnostics/trained_models/default

which writes ``backbone.onnx`` and records it (sha256 included) in ``metadata.json``,
leaving every other file as it is.
"""

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .cam import CAM_ACTIVATIONS
from .efficientnet_lite import Conv2dSamePadding, EfficientNetLiteFeatures
from .serving import FEATURES_OUTPUT, INPUT_NAME, MAP_OUTPUT, ONNX_FILE

logger = logging.getLogger(__name__)

OPSET = 17
# The largest difference between torch's and ONNX Runtime's features allowed at export, on a
# random batch; features are O(1), and float32 re-orderings differ by about 1e-5.
EXPORT_TOLERANCE = 1e-3


class ExportNotSupported(ValueError):
    """The backbone cannot be exported (say a fused pair, whose maps differ in size)."""


def export_backbone(backbone, image_size, path):
    """Write ``backbone`` (a :class:`backbones.Backbone`) as ONNX to ``path``; return the
    fields to record in ``metadata.json`` under ``backbone.onnx`` (without the sha256)."""
    if len(backbone.cam_layers()) != 1:
        raise ExportNotSupported(f"{backbone.name} has {len(backbone.cam_layers())} Grad-CAM "
                                 f"layers; only single backbones are exported to ONNX")
    model = _FeaturesAndMap(backbone, image_size).eval()
    example = torch.zeros(2, 3, image_size, image_size)
    batch_axis = {0: "batch"}
    # The tracer warns that the padding sizes become constants: they are, for this image size.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(path), input_names=[INPUT_NAME],
                          output_names=[FEATURES_OUTPUT, MAP_OUTPUT], opset_version=OPSET,
                          dynamic_axes={INPUT_NAME: batch_axis, FEATURES_OUTPUT: batch_axis,
                                        MAP_OUTPUT: batch_axis}, dynamo=False)
    difference = _check_export(model, path, image_size)
    return {"file": Path(path).name, "input": INPUT_NAME, "image_size": image_size,
            "outputs": [FEATURES_OUTPUT, MAP_OUTPUT], "opset": OPSET,
            "cam_activation": cam_activation(backbone),
            "exported_with": f"torch {torch.__version__}",
            "export_check_max_abs_difference": difference}


def cam_activation(backbone):
    """What lies between the Grad-CAM map and global pooling: ReLU6 for EfficientNet-Lite
    (its map is the batch-normalised head convolution), nothing for the others."""
    activation = "relu6" if isinstance(backbone.body, EfficientNetLiteFeatures) else "identity"
    assert activation in CAM_ACTIVATIONS
    return activation


class _FeaturesAndMap(nn.Module):
    """The backbone with batch norms folded and static "SAME" padding, returning its pooled
    features and its Grad-CAM layer's map."""

    def __init__(self, backbone, image_size):
        super().__init__()
        self.backbone = backbone.for_inference()
        _use_static_padding(self.backbone.body, image_size)
        # After folding, the named layer may be an Identity in place of a batch norm: its
        # output is still the map Grad-CAM weighs.
        layer = self.backbone.body.get_submodule(backbone.cam_layer_name)
        layer.register_forward_hook(self._capture)
        self._map = None

    def _capture(self, module, inputs, output):
        self._map = output
        # The layers after it may work in place (ReLU6 when no gradient is recorded): give
        # them a copy, so the captured map stays as the layer produced it.
        return output.clone()

    def forward(self, pixels):
        features = self.backbone(pixels)
        return features, self._map


class _StaticSamePadding(nn.Module):
    """A :class:`Conv2dSamePadding` for one input size: explicit padding, then the
    convolution, which ONNX expresses directly (the weight-padding trick it uses for speed
    makes the kernel's shape depend on the input)."""

    def __init__(self, conv, pads):
        super().__init__()
        self.conv = conv
        self.pads = pads

    def forward(self, x):
        conv = self.conv
        return F.conv2d(F.pad(x, self.pads), conv.weight, conv.bias, conv.stride, 0,
                        conv.dilation, conv.groups)


def _use_static_padding(body, image_size):
    input_sizes = {}

    def record_input_size(name):
        def hook(module, inputs):
            input_sizes[name] = inputs[0].shape[-2:]
        return hook

    hooks = [module.register_forward_pre_hook(record_input_size(name))
             for name, module in body.named_modules() if isinstance(module, Conv2dSamePadding)]
    with torch.no_grad():
        body(torch.zeros(1, 3, image_size, image_size))
    for hook in hooks:
        hook.remove()
    for name, (height, width) in input_sizes.items():
        conv = body.get_submodule(name)
        pad_h, pad_w = conv._same_padding(height, 0), conv._same_padding(width, 1)
        # "SAME": the odd pixel of padding goes after the image.
        pads = [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2]
        parent_name, _, attribute = name.rpartition(".")
        parent = body.get_submodule(parent_name) if parent_name else body
        setattr(parent, attribute, _StaticSamePadding(conv, pads))


def _check_export(model, path, image_size):
    import onnxruntime

    batch = torch.from_numpy(np.random.default_rng(0).normal(
        size=(3, 3, image_size, image_size)).astype(np.float32))
    with torch.no_grad():
        expected = [output.numpy() for output in model(batch)]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    produced = session.run([FEATURES_OUTPUT, MAP_OUTPUT], {INPUT_NAME: batch.numpy()})
    difference = max(float(np.abs(a - b).max()) for a, b in zip(expected, produced))
    if difference > EXPORT_TOLERANCE:
        Path(path).unlink(missing_ok=True)
        raise ExportNotSupported(f"ONNX Runtime's output differs from torch's by {difference:.2e} "
                                 f"(more than {EXPORT_TOLERANCE}); the export was removed")
    return difference
