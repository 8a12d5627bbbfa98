from django.conf import settings
from django.core.checks import Error, Warning, register

from diagnostics.engine import devices
from diagnostics.engine.metadata import METADATA_FILE, read_metadata
from diagnostics.engine.precision import FLOAT32, resolve_precision

RESTORE_THE_MODEL = ("Restore diagnostics/trained_models/ from git, point CELINSIGHT_MODEL_DIR "
                     "at a trained model, or train one with: python manage.py train_classifier")


@register()
def classifier_model_is_present(app_configs, **kwargs):
    metadata = settings.CLASSIFIER_MODEL_DIR / METADATA_FILE
    try:
        read_metadata(settings.CLASSIFIER_MODEL_DIR)
    except FileNotFoundError:
        problem = f"The classifier model is missing: {metadata} does not exist."
    except ValueError as error:
        problem = f"The classifier model's {metadata} is not valid JSON ({error})."
    else:
        return []
    return [Error(problem, hint=RESTORE_THE_MODEL, id="diagnostics.E001")]


# diagnostics.engine.precision's names, repeated here so that checking them needs no torch
# (tests/diagnostics/test_inference_precision.py keeps the two lists equal).
INFERENCE_PRECISIONS = ("auto", "float32", "bfloat16")


@register()
def inference_precision_is_known(app_configs, **kwargs):
    if settings.CLASSIFIER_INFERENCE_PRECISION in INFERENCE_PRECISIONS:
        return []
    return [Error(
        f"Unknown inference precision {settings.CLASSIFIER_INFERENCE_PRECISION!r} "
        f"(CELINSIGHT_INFERENCE_PRECISION).",
        hint=f"Use one of: {', '.join(INFERENCE_PRECISIONS)}.",
        id="diagnostics.E002",
    )]


@register()
def classifier_device_is_usable(app_configs, **kwargs):
    """CELINSIGHT_DEVICE: an unknown value stops training and serving (an error); ``cuda``
    where it cannot be used is a warning, since the workers then serve on the CPU. Neither
    torch nor the serving runtime is loaded to answer (a lean worker runs these checks)."""
    device = settings.CLASSIFIER_DEVICE
    if device not in devices.DEVICES:
        return [Error(f"Unknown device {device!r} (CELINSIGHT_DEVICE).",
                      hint=f"Use one of: {', '.join(devices.DEVICES)} (auto: a CUDA GPU when "
                           f"there is one, else the CPU).",
                      id="diagnostics.E003")]
    if device != "cuda":
        return []
    if not devices.cuda_gpu_visible():
        return [Warning(
            "CELINSIGHT_DEVICE=cuda, but no CUDA GPU is visible on this machine (no NVIDIA "
            "device, or CUDA_VISIBLE_DEVICES hides it): train_classifier stops with an error "
            "and the workers serve the model on the CPU.",
            hint="Set CELINSIGHT_DEVICE=auto (or cpu) to compute on the CPU knowingly, or run "
                 "this process where the GPU is visible.",
            id="diagnostics.W001")]
    return _served_model_cannot_use_cuda()


def _served_model_cannot_use_cuda():
    """Warnings when a GPU is there but the workers' runtime will not use it."""
    try:
        metadata = read_metadata(settings.CLASSIFIER_MODEL_DIR)
        precision = resolve_precision(settings.CLASSIFIER_INFERENCE_PRECISION)
    except (FileNotFoundError, ValueError):
        return []  # diagnostics.E001 / E002 say what is wrong
    version = metadata.get("version")
    has_onnx = bool((metadata.get("backbone") or {}).get("onnx"))
    if not has_onnx or precision != FLOAT32:
        why = "it has no backbone.onnx" if not has_onnx else "bfloat16 inference"
        return [Warning(
            f"CELINSIGHT_DEVICE=cuda, but the served model {version} is run by torch in the "
            f"workers ({why}), which serves on the CPU whatever the device setting; only "
            f"training uses the GPU.",
            hint=f"Add backbone.onnx with `manage.py export_onnx {settings.CLASSIFIER_MODEL_DIR}` "
                 f"and keep CELINSIGHT_INFERENCE_PRECISION=float32 to serve on the GPU.",
            id="diagnostics.W002")]
    providers = devices.onnx_runtime_providers()
    if devices.ONNX_CUDA_PROVIDER not in providers:
        return [Warning(
            f"CELINSIGHT_DEVICE=cuda, but ONNX Runtime here offers no CUDA (providers: "
            f"{', '.join(providers) or 'ONNX Runtime is not installed'}): the workers serve "
            f"{version} on the CPU.",
            hint="Install onnxruntime-gpu (in place of onnxruntime) on this GPU machine, or "
                 "set CELINSIGHT_DEVICE=auto to serve on the CPU knowingly.",
            id="diagnostics.W003")]
    return []
