from django.conf import settings
from django.core.checks import Error, register


@register()
def classifier_model_is_present(app_configs, **kwargs):
    metadata = settings.CLASSIFIER_MODEL_DIR / "metadata.json"
    if metadata.exists():
        return []
    return [Error(
        f"The classifier model is missing: {metadata} does not exist.",
        hint="Restore diagnostics/trained_models/ from git, point CELINSIGHT_MODEL_DIR at a "
             "trained model, or train one with: python manage.py train_classifier",
        id="diagnostics.E001",
    )]
