"""Where torch computes (training, and serving a model without backbone.onnx): cpu or cuda.

``auto`` is a CUDA GPU when torch sees one, else the CPU. Asking for ``cuda`` where there is
none is an error, not a silent fall-back: a training run planned for a GPU would otherwise
take days on the CPU unnoticed. (The ONNX workers fall back to the CPU with a warning
instead: see :func:`serving.execution_providers`.)

Nothing here imports torch or Django: the system check of ``CELINSIGHT_DEVICE`` asks
:func:`cuda_gpu_visible` and :func:`onnx_runtime_providers` in web and worker processes,
and a lean worker has no torch to ask.
"""

import os
import sys
from pathlib import Path

DEVICES = ("auto", "cpu", "cuda")
ONNX_CUDA_PROVIDER = "CUDAExecutionProvider"  # serving.CUDA_PROVIDER's name in ONNX Runtime


class DeviceUnavailable(RuntimeError):
    """``cuda`` was asked for and torch sees no CUDA GPU."""


def resolve_torch_device(requested, cuda_available=None):
    """``cpu`` or ``cuda`` for ``requested`` (auto, cpu or cuda)."""
    if requested not in DEVICES:
        raise ValueError(f"Unknown device {requested!r}; choose one of {', '.join(DEVICES)}")
    if requested == "cpu":
        return "cpu"
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    if cuda_available:
        return "cuda"
    if requested == "cuda":
        raise DeviceUnavailable("CELINSIGHT_DEVICE=cuda, but torch sees no CUDA GPU on this machine; "
                           "set CELINSIGHT_DEVICE=auto or cpu to train on the CPU.")
    return "cpu"


def cuda_gpu_visible(environ=None, dev=Path("/dev")):
    """Whether this process can see a CUDA GPU, without importing torch.

    torch's answer where torch is already imported (say in train_classifier); otherwise the
    NVIDIA driver's device files (``/dev/nvidia0``...), which a container sees only when
    given the GPU, unless ``CUDA_VISIBLE_DEVICES`` is empty or -1 (CUDA then shows none).
    """
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "cuda"):
        return bool(torch.cuda.is_available())
    visible = (os.environ if environ is None else environ).get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    return any(path.name[len("nvidia"):].isdigit() for path in dev.glob("nvidia*"))


def onnx_runtime_providers():
    """The execution providers of the installed ONNX Runtime; empty when it is not installed."""
    try:
        import onnxruntime
    except ImportError:
        return []
    return list(onnxruntime.get_available_providers())

