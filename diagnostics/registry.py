"""Which trained models exist, and which one new uploads are classified with."""
import functools
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from diagnostics.engine.metadata import METADATA_FILE, read_metadata
from diagnostics.models import HoldoutEvaluation, ModelVersion

# The parts of metadata.json that decide a model's predictions on given features: two folders
# under one version name that differ here are different models.
PREDICTION_FIELDS = ("classes", "head", "calibration")


def stored_directory(path):
    path = Path(path).resolve()
    if path.is_relative_to(settings.BASE_DIR):
        return str(path.relative_to(settings.BASE_DIR))
    return str(path)


def register_model(directory):
    """Record the trained model in ``directory`` (idempotent); returns its ModelVersion."""
    metadata = read_metadata(directory)
    model, _ = ModelVersion.objects.get_or_create(
        version=metadata["version"],
        defaults={"directory": stored_directory(directory), "metadata": metadata},
    )
    return model


def refuse_another_model_under_its_version(directory):
    """Raise ValueError when the version of the model in ``directory`` is registered for a
    folder whose model differs (its classes, head or calibration): figures of one would be
    filed under the other."""
    metadata = read_metadata(directory)
    registered = ModelVersion.objects.filter(version=metadata["version"]).first()
    if registered is None:
        return
    differing = [field for field in PREDICTION_FIELDS
                 if registered.metadata.get(field) != metadata.get(field)]
    if differing:
        raise ValueError(
            f"{directory} holds version {registered.version}, but the registered "
            f"{registered.version} ({registered.directory}) has another "
            f"{', '.join(differing)}: these are two models under one name. Evaluate the "
            f"registered folder, or give this model a new version name.")


def record_holdout_evaluation(report, directory, evaluated_by=None, run_by=""):
    """Store an ``engine.holdout.evaluate_holdout`` report of the model in ``directory``
    as a HoldoutEvaluation of its version, registering the version if it is new."""
    refuse_another_model_under_its_version(directory)
    return HoldoutEvaluation.objects.create(
        model_version=register_model(directory), holdout_path=report["data"]["path"],
        holdout_sha256=report["data"].get("file_list_sha256", ""),
        n_cells=report["data"]["n_images"], report=report,
        evaluated_by=evaluated_by, run_by=run_by)


def activate_model(model):
    with transaction.atomic():
        ModelVersion.objects.filter(is_active=True).exclude(pk=model.pk).update(is_active=False)
        model.is_active = True
        model.activated_at = timezone.now()
        model.save(update_fields=["is_active", "activated_at"])
    return model


def folder_version(directory):
    """The version recorded in a model folder's metadata.json.

    Read again only when the file changes (another size, modification time or inode): the
    web process asks once per upload batch whether the shipped model was replaced.
    """
    directory = Path(directory).resolve()
    try:
        stat = (directory / METADATA_FILE).stat()
    except FileNotFoundError:
        return read_metadata(directory)["version"]  # raises, saying how to get a model
    return _recorded_version(directory, stat.st_size, stat.st_mtime_ns, stat.st_ino)


@functools.lru_cache(maxsize=32)
def _recorded_version(directory, size, mtime_ns, inode):
    return read_metadata(directory)["version"]


def active_model():
    """The active ModelVersion; on first use, the shipped model (CELINSIGHT_MODEL_DIR).

    When an upgrade replaced the shipped model and the old shipped version is still the
    active one, the new shipped version is registered and made active.
    """
    model = ModelVersion.objects.filter(is_active=True).first()
    if model is not None and not _is_replaced_shipped_model(model):
        return model
    try:
        return activate_model(register_model(settings.CLASSIFIER_MODEL_DIR))
    except IntegrityError:  # another process activated one at the same moment
        return ModelVersion.objects.get(is_active=True)


def _is_replaced_shipped_model(model):
    shipped_dir = Path(settings.CLASSIFIER_MODEL_DIR).resolve()
    return (model.path.resolve() == shipped_dir
            and folder_version(shipped_dir) != model.version)
