"""EfficientNet-Lite with its last stages tapped: its first features are exactly the plain
backbone's, so a Bethesda head can read the morphology model's own pass."""
import torch

from diagnostics.engine.backbones import create_backbone
from diagnostics.engine.efficientnet_lite import (EfficientNetLiteFeatures,
                                                  EfficientNetLiteStageFeatures)


def test_lite0_taps_the_ends_of_its_last_three_stages():
    body = EfficientNetLiteStageFeatures()
    assert body.tapped_blocks == (10, 14, 15)
    assert body.num_features == 1280 + 2 * (112 + 192 + 320)


def test_its_first_features_are_the_plain_backbones_and_the_rest_pool_the_stages():
    torch.manual_seed(0)
    plain = EfficientNetLiteFeatures().eval()
    tapped = EfficientNetLiteStageFeatures().eval()
    tapped.load_state_dict(plain.state_dict())
    pixels = torch.randn(3, 3, 128, 128)
    with torch.no_grad():
        features, expected = tapped(pixels), plain(pixels)
    assert features.shape == (3, 2528)
    assert torch.equal(features[:, :1280], expected)
    assert torch.all(features[:, 1280:1392] <= features[:, 1392:1504])  # mean <= max (s5)


def test_the_registered_backbone_is_frozen_and_names_its_grad_cam_layer():
    backbone = create_backbone("efficientnet_lite0_sipakmed_stages", pretrained=False)
    assert backbone.num_features == 2528 and not any(p.requires_grad for p in backbone.parameters())
    assert backbone.cam_layers() == [backbone.body._bn1]
