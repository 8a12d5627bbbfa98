"""The system check of CELINSIGHT_DEVICE (auto, cpu or cuda)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks

from diagnostics.engine import devices


def device_findings():
    return [(finding.id, finding) for finding in run_checks()
            if finding.id in {"diagnostics.E003", "diagnostics.W001", "diagnostics.W002",
                              "diagnostics.W003"}]


@pytest.fixture
def gpu(monkeypatch):
    """This machine shows a CUDA GPU, with onnxruntime-gpu installed."""
    monkeypatch.setattr(devices, "cuda_gpu_visible", lambda: True)
    monkeypatch.setattr(devices, "onnx_runtime_providers",
                        lambda: [devices.ONNX_CUDA_PROVIDER, "CPUExecutionProvider"])


@pytest.mark.parametrize("device", ["auto", "cpu"])
def test_auto_and_cpu_pass(settings, device):
    settings.CLASSIFIER_DEVICE = device
    assert device_findings() == []


def test_an_unknown_device_is_an_error_listing_the_choices(settings):
    settings.CLASSIFIER_DEVICE = "gpu"
    ((check_id, error),) = device_findings()
    assert check_id == "diagnostics.E003" and error.is_serious()
    assert "'gpu'" in error.msg and "auto, cpu, cuda" in error.hint


def test_cuda_without_a_gpu_warns_that_training_stops_and_workers_use_the_cpu(settings,
                                                                              monkeypatch):
    settings.CLASSIFIER_DEVICE = "cuda"
    monkeypatch.setattr(devices, "cuda_gpu_visible", lambda: False)
    ((check_id, warning),) = device_findings()
    assert check_id == "diagnostics.W001" and not warning.is_serious()
    assert "no CUDA GPU is visible" in warning.msg and "CELINSIGHT_DEVICE=auto" in warning.hint


def test_cuda_with_a_gpu_and_onnx_runtime_gpu_passes(settings, gpu):
    settings.CLASSIFIER_DEVICE = "cuda"
    assert device_findings() == []


def test_cuda_where_onnx_runtime_has_no_cuda_warns_the_workers_use_the_cpu(settings, gpu,
                                                                           monkeypatch):
    settings.CLASSIFIER_DEVICE = "cuda"
    monkeypatch.setattr(devices, "onnx_runtime_providers", lambda: ["CPUExecutionProvider"])
    ((check_id, warning),) = device_findings()
    assert check_id == "diagnostics.W003" and "onnxruntime-gpu" in warning.hint


def test_cuda_for_a_model_served_by_torch_says_only_training_uses_the_gpu(settings, gpu,
                                                                          tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(settings.CLASSIFIER_MODEL_DIR, model_dir,
                    ignore=shutil.ignore_patterns("*.onnx", "*.pt", "*.txt", "*.npz"))
    metadata = json.loads((model_dir / "metadata.json").read_text())
    metadata["backbone"].pop("onnx", None)
    (model_dir / "metadata.json").write_text(json.dumps(metadata))
    settings.CLASSIFIER_DEVICE, settings.CLASSIFIER_MODEL_DIR = "cuda", model_dir
    ((check_id, warning),) = device_findings()
    assert check_id == "diagnostics.W002" and "no backbone.onnx" in warning.msg
    assert "export_onnx" in warning.hint


def test_checking_cuda_loads_no_torch():
    """Workers run the system checks as they start; a lean worker must not load torch."""
    code = ("import os, sys, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'celinsight.settings'; "
            "django.setup(); from django.core.checks import run_checks; "
            "ids = {c.id for c in run_checks()}; print('torch' in sys.modules, "
            "'diagnostics.W001' in ids)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2],
                         env={**os.environ, "CELINSIGHT_DEVICE": "cuda",
                              "CUDA_VISIBLE_DEVICES": "-1"}).stdout
    assert out.split()[-2:] == ["False", "True"]
