"""The models the workers serve: each loaded once per worker process, not once per image."""
import functools

from diagnostics.models import ModelVersion
from diagnostics.registry import active_model, folder_version


@functools.cache
def load_model(model_dir):
    from diagnostics.engine import load_classifier  # torch is imported only where it is needed

    return load_classifier(model_dir)


def active_model_version():
    return active_model().version


def classifier_for(version):
    """The loaded classifier of a registered model version."""
    try:
        model = ModelVersion.objects.get(version=version)
    except ModelVersion.DoesNotExist:
        raise LookupError(f"model version {version} is not registered") from None
    if folder_version(model.path) != version:
        # The folder was overwritten by another version (e.g. an upgrade of the shipped
        # model): classifying with it would label results with the wrong version.
        raise LookupError(f"model version {version} is no longer in {model.directory}, which "
                          f"now holds {folder_version(model.path)}; re-queue these images")
    return load_model(str(model.path))


def active_classifier():
    return classifier_for(active_model_version())
