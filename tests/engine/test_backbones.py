import pytest
import torch

from diagnostics.engine import available_backbones, create_backbone


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
