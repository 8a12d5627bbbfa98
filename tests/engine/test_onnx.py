"""The backbone exported to ONNX and served by ONNX Runtime: same predictions and heat maps
as torch, checked files, and the device and thread choices."""

import copy
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from diagnostics.engine import load_classifier, save_classifier
from diagnostics.engine.checksums import file_sha256
from diagnostics.engine.devices import DeviceUnavailable, resolve_torch_device
from diagnostics.engine.explain import grad_cam_overlays
from diagnostics.engine.linear_explainer import fit_explainer
from diagnostics.engine.preprocessing import Preprocessing, normalise, normalise_array
from diagnostics.engine.serving import (CPU_PROVIDER, CUDA_PROVIDER, OnnxBackbone,
                                        OnnxClassifier, OpenVinoBackbone, default_threads,
                                        execution_providers)

SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "diagnostics" / "trained_models" / "default"


@pytest.fixture(scope="module")
def saved(fitted, tiny_images, tmp_path_factory):
    images, labels = tiny_images
    fit_explainer(fitted, fitted.extract_features(images), labels)
    return save_classifier(fitted, tmp_path_factory.mktemp("model"), {"version": "onnx-1"})


def test_saving_exports_the_backbone_and_records_its_sha256(saved):
    from diagnostics.engine.metadata import read_metadata

    recorded = read_metadata(saved)["backbone"]["onnx"]
    assert recorded["file"] == "backbone.onnx"
    assert recorded["sha256"] == file_sha256(saved / "backbone.onnx")
    assert recorded["outputs"] == ["features", "feature_map"]
    assert recorded["export_check_max_abs_difference"] < 1e-3


def test_onnx_probabilities_equal_torchs(saved, tiny_images):
    images, _ = tiny_images
    by_torch = load_classifier(saved)
    by_onnx = load_classifier(saved, runtime="onnx", threads=2)
    assert isinstance(by_onnx, OnnxClassifier) and by_onnx.version == "onnx-1"
    assert by_onnx.views == ("identity", "hflip")
    np.testing.assert_allclose(by_onnx.predict_proba(images), by_torch.predict_proba(images),
                               atol=1e-4)


def test_onnx_heat_maps_equal_torchs(saved, tiny_images):
    images, _ = tiny_images
    by_torch, by_onnx = load_classifier(saved), load_classifier(saved, runtime="onnx")
    names = by_torch.predict(images[:6])
    from_torch, from_onnx = (
        np.stack([np.asarray(o, np.int16) for o in grad_cam_overlays(model, images[:6], names)])
        for model in (by_torch, by_onnx))
    assert from_onnx.shape == from_torch.shape
    assert np.abs(from_onnx - from_torch).mean() < 0.5
    assert np.abs(from_onnx - from_torch).max() <= 8


def test_auto_serves_onnx_when_the_folder_has_it_and_torch_otherwise(fitted, tmp_path):
    with_onnx = save_classifier(fitted, tmp_path / "with", {"version": "a"})
    without = save_classifier(fitted, tmp_path / "without", {"version": "b"}, export_onnx=False)
    assert isinstance(load_classifier(with_onnx, runtime="auto"), OnnxClassifier)
    assert not (without / "backbone.onnx").exists()
    assert type(load_classifier(without, runtime="auto")).__name__ == "HybridClassifier"
    with pytest.raises(FileNotFoundError, match="export_onnx"):
        load_classifier(without, runtime="onnx")


def test_a_changed_onnx_file_is_refused(fitted, tmp_path):
    folder = save_classifier(fitted, tmp_path / "model", {"version": "c"})
    with open(folder / "backbone.onnx", "ab") as stream:
        stream.write(b"\0")
    with pytest.raises(ValueError, match="does not match the sha256"):
        load_classifier(folder, runtime="onnx")


def test_numpy_normalisation_is_bit_for_bit_torchs():
    pixels = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    preprocessing = Preprocessing(16, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert np.array_equal(normalise_array(pixels, preprocessing),
                          normalise(torch.from_numpy(pixels), preprocessing).numpy())


def test_cuda_is_used_when_there_and_asked_or_auto():
    assert execution_providers("auto", [CUDA_PROVIDER, CPU_PROVIDER]) == [CUDA_PROVIDER,
                                                                          CPU_PROVIDER]
    assert execution_providers("cuda", [CUDA_PROVIDER, CPU_PROVIDER])[0] == CUDA_PROVIDER
    assert execution_providers("cpu", [CUDA_PROVIDER, CPU_PROVIDER]) == [CPU_PROVIDER]
    assert execution_providers("auto", [CPU_PROVIDER]) == [CPU_PROVIDER]


def test_cuda_without_a_gpu_falls_back_to_the_cpu_saying_so(saved, caplog):
    with caplog.at_level(logging.WARNING, logger="diagnostics.engine.serving"):
        classifier = load_classifier(saved, runtime="onnx", device="cuda")
    if CUDA_PROVIDER in classifier.backbone_.providers:
        pytest.skip("this machine has a CUDA GPU")
    assert classifier.backbone_.providers in ([CPU_PROVIDER], ["OpenVINO CPU"])
    assert "served on the CPU" in caplog.text


def test_openvino_and_onnx_runtime_compute_the_same_features_and_maps(saved, tiny_images):
    pytest.importorskip("openvino")
    images, _ = tiny_images
    classifier = load_classifier(saved, runtime="onnx")
    batch = normalise_array(classifier.prepare_pixels(images[:4]), classifier.preprocessing_)
    by_openvino = OpenVinoBackbone(saved / "backbone.onnx", "b", 1280, threads=2)
    by_onnx_runtime = OnnxBackbone(saved / "backbone.onnx", "b", 1280, threads=2)
    for a, b in zip(by_openvino.features_and_map(batch), by_onnx_runtime.features_and_map(batch)):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_an_unknown_device_is_an_error():
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        execution_providers("tpu", [CPU_PROVIDER])


def test_threads_default_to_every_core_unless_omp_num_threads_says(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert default_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert default_threads() == 1


def test_the_shipped_model_is_served_by_onnx_like_torch(tiny_images):
    images, _ = tiny_images
    by_onnx = load_classifier(SHIPPED_MODEL, runtime="auto")
    assert isinstance(by_onnx, OnnxClassifier)
    np.testing.assert_allclose(by_onnx.predict_proba(images),
                               load_classifier(SHIPPED_MODEL).predict_proba(images), atol=1e-4)


def test_training_uses_cuda_under_auto_when_there_is_one():
    assert resolve_torch_device("auto", cuda_available=True) == "cuda"
    assert resolve_torch_device("auto", cuda_available=False) == "cpu"
    assert resolve_torch_device("cpu", cuda_available=True) == "cpu"


def test_training_asked_for_cuda_without_a_gpu_stops_saying_so():
    with pytest.raises(DeviceUnavailable, match="no CUDA GPU"):
        resolve_torch_device("cuda", cuda_available=False)


def test_features_on_the_auto_device_equal_the_cpus(fitted, tiny_images):
    images, _ = tiny_images
    on_auto = copy.deepcopy(fitted).set_params(device="auto")
    on_auto.inference_backbone_ = None
    np.testing.assert_allclose(on_auto.extract_features(images[:4]),
                               fitted.extract_features(images[:4]), atol=1e-4)
