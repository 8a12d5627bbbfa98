import pytest
import torch
from torch.nn import functional as F

from diagnostics.engine import available_backbones, create_backbone
from diagnostics.engine.efficientnet_lite import Conv2dSamePadding


def test_registry_lists_efficientnet_lite0_and_the_torchvision_backbones():
    assert {"efficientnet_lite0", "shufflenet_v2_x1_0", "resnet34", "vgg16",
            "inception_v3"} <= set(available_backbones())


def test_pretrained_efficientnet_lite0_maps_images_to_1280_features():
    backbone = create_backbone("efficientnet_lite0")
    with torch.inference_mode():
        features = backbone(torch.zeros(2, 3, 96, 96))
    assert features.shape == (2, 1280)
    assert not backbone.training


def test_random_weight_backbones_are_reproducible():
    first, second = (create_backbone("shufflenet_v2_x1_0", pretrained=False) for _ in range(2))
    images = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(first(images), second(images))
        assert first(images).shape == (1, 1024)


def test_unknown_backbone_error_lists_the_available_ones():
    with pytest.raises(KeyError, match="efficientnet_lite0"):
        create_backbone("alexnet")


def test_missing_torchvision_weights_error_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("CELINSIGHT_WEIGHTS_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="resnet34-b627a593.pth"):
        create_backbone("resnet34", pretrained=True)


def test_inference_copy_with_folded_batch_norms_gives_the_same_features():
    backbone = create_backbone("efficientnet_lite0")
    inference_copy = backbone.for_inference()
    images = torch.randn(3, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(inference_copy(images), backbone(images),
                                   atol=1e-4, rtol=1e-4)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in backbone.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in inference_copy.modules())


def test_pretrained_efficientnet_lite1_maps_images_to_1280_features():
    backbone = create_backbone("efficientnet_lite1")
    with torch.inference_mode():
        features = backbone(torch.zeros(2, 3, 96, 96))
    assert features.shape == (2, 1280)
    assert backbone.weights_file.name == "efficientnet-lite1-77cc7160.pth"


def test_fused_backbone_concatenates_its_members_features():
    fused = create_backbone("efficientnet_lite0+efficientnet_lite1", pretrained=False)
    lite0, lite1 = (create_backbone(name, pretrained=False)
                    for name in ("efficientnet_lite0", "efficientnet_lite1"))
    images = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        features = fused(images)
        expected = torch.cat([lite0(images), lite1(images)], dim=1)
    assert fused.num_features == features.shape[1] == 2560
    assert (fused.mean, fused.std) == (lite0.mean, lite0.std)
    torch.testing.assert_close(features, expected)


def test_fused_backbone_renormalises_the_batch_for_each_member():
    fused = create_backbone("efficientnet_lite0+shufflenet_v2_x1_0", pretrained=False)
    lite0, shufflenet = (create_backbone(name, pretrained=False)
                         for name in ("efficientnet_lite0", "shufflenet_v2_x1_0"))
    raw = torch.rand(2, 3, 64, 64)

    def normalised_for(backbone):
        mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (backbone.mean, backbone.std))
        return (raw - mean) / std

    with torch.inference_mode():
        features = fused(normalised_for(lite0))
        expected = torch.cat([lite0(normalised_for(lite0)),
                              shufflenet(normalised_for(shufflenet))], dim=1)
    assert features.shape == (2, 1280 + 1024)
    torch.testing.assert_close(features, expected, atol=1e-4, rtol=1e-4)


def test_inference_copy_of_a_fused_backbone_gives_the_same_features():
    fused = create_backbone("efficientnet_lite0+efficientnet_lite1", pretrained=False)
    inference_copy = fused.for_inference()
    images = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(inference_copy(images), fused(images), atol=1e-4, rtol=1e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in inference_copy.modules())
    assert inference_copy.name == fused.name


def test_fused_backbone_with_an_unknown_member_lists_the_available_ones():
    with pytest.raises(KeyError, match="efficientnet_lite1"):
        create_backbone("efficientnet_lite0+alexnet")


def test_fusion_is_not_listed_as_a_backbone():
    assert "efficientnet_lite1" in available_backbones()
    assert not any("+" in name for name in available_backbones())


def test_a_fused_backbone_records_every_members_weights():
    from diagnostics.engine.artefact import weights_fields

    fused = create_backbone("efficientnet_lite0+efficientnet_lite1")
    fields = weights_fields(fused)
    assert fields["weights_file"].count("+") == 1
    assert len(fields["weights_sha256"].split("+")) == 2


@pytest.mark.parametrize("kernel, stride, size", [(3, 2, 16), (5, 2, 16), (3, 2, 15),
                                                  (5, 1, 16), (3, 2, 17), (5, 2, 14)])
def test_same_padding_convolution_matches_tensorflow_same(kernel, stride, size):
    conv = Conv2dSamePadding(4, 6, kernel, stride=stride, bias=True)
    images = torch.randn(2, 4, size, size + 1)
    total_h = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    total_w = max((-(-(size + 1) // stride) - 1) * stride + kernel - (size + 1), 0)
    # TensorFlow's SAME: the odd pixel of padding goes after (below, to the right).
    padded = F.pad(images, [total_w // 2, total_w - total_w // 2,
                            total_h // 2, total_h - total_h // 2])
    expected = F.conv2d(padded, conv.weight, conv.bias, stride)
    with torch.no_grad():
        torch.testing.assert_close(conv(images), expected)
