from django.conf import settings
from django.core.checks import Error, register

from diagnostics.engine.metadata import METADATA_FILE, read_metadata

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
