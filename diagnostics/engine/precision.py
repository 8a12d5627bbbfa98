"""Numeric precision of the backbone when it predicts: float32, or bfloat16 where native.

float32 is what training and validation use. bfloat16 keeps float32's range with an 8-bit
mantissa; on CPUs that compute it natively (Intel AMX or AVX-512 BF16) the backbone runs about
twice as fast. Elsewhere bfloat16 is emulated and slower, so ``auto`` picks it only where it
is native. Its effect on accuracy is measured by ``bench/precision_experiment.py``.
"""

import contextlib
from pathlib import Path

FLOAT32 = "float32"
BFLOAT16 = "bfloat16"
AUTO = "auto"
PRECISIONS = (FLOAT32, BFLOAT16)
NATIVE_BFLOAT16_CPU_FLAGS = {"amx_bf16", "avx512_bf16"}


def cpu_flags(cpuinfo=Path("/proc/cpuinfo")):
    """The feature flags the (Linux) kernel reports for this CPU; empty where unknown."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def native_bfloat16(flags=None):
    """Whether this CPU computes bfloat16 in hardware."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags & NATIVE_BFLOAT16_CPU_FLAGS)


def resolve_precision(requested, flags=None):
    """``float32``, ``bfloat16``, or for ``auto`` bfloat16 where native, else float32."""
    if requested == AUTO:
        return BFLOAT16 if native_bfloat16(flags) else FLOAT32
    if requested not in PRECISIONS:
        raise ValueError(f"Unknown inference precision {requested!r}; "
                         f"choose one of {', '.join((AUTO,) + PRECISIONS)}")
    return requested


def backbone_autocast(precision):
    """Context in which the backbone computes in ``precision`` (its output stays as is)."""
    if precision == BFLOAT16:
        import torch  # here: resolving a precision must not load torch (the ONNX worker)

        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
