"""Seeing a CUDA GPU without torch: the device check runs in lean workers too."""
import subprocess
import sys

from diagnostics.engine.devices import cuda_gpu_visible


def without_torch(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)


def test_an_nvidia_device_file_is_a_visible_gpu(monkeypatch, tmp_path):
    without_torch(monkeypatch)
    (tmp_path / "nvidiactl").touch()
    assert not cuda_gpu_visible(environ={}, dev=tmp_path)  # the driver alone is no GPU
    (tmp_path / "nvidia0").touch()
    assert cuda_gpu_visible(environ={}, dev=tmp_path)


def test_cuda_visible_devices_can_hide_the_gpus(monkeypatch, tmp_path):
    without_torch(monkeypatch)
    (tmp_path / "nvidia0").touch()
    assert not cuda_gpu_visible(environ={"CUDA_VISIBLE_DEVICES": ""}, dev=tmp_path)
    assert not cuda_gpu_visible(environ={"CUDA_VISIBLE_DEVICES": "-1"}, dev=tmp_path)
    assert cuda_gpu_visible(environ={"CUDA_VISIBLE_DEVICES": "0"}, dev=tmp_path)


def test_torch_is_asked_where_it_is_already_loaded(monkeypatch, tmp_path):
    class FakeTorch:
        class cuda:
            is_available = staticmethod(lambda: True)

    monkeypatch.setitem(sys.modules, "torch", FakeTorch)
    assert cuda_gpu_visible(environ={}, dev=tmp_path)


def test_asking_does_not_import_torch():
    code = ("import sys; from diagnostics.engine.devices import cuda_gpu_visible, "
            "onnx_runtime_providers; cuda_gpu_visible(); onnx_runtime_providers(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
