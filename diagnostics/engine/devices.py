"""Where torch computes (training, and serving a model without backbone.onnx): cpu or cuda.

``auto`` is a CUDA GPU when torch sees one, else the CPU. Asking for ``cuda`` where there is
none is an error, not a silent fall-back: a training run planned for a GPU would otherwise
take days on the CPU unnoticed. (The ONNX workers fall back to the CPU with a warning
instead: see :func:`serving.execution_providers`.)
"""

DEVICES = ("auto", "cpu", "cuda")


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
