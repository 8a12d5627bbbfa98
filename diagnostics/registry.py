"""Which trained models exist, the role each plays, and which one of each role new uploads
are classified with: the one place that decides which model serves which role."""
import functools
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from diagnostics.engine import served_model
from diagnostics.engine.metadata import METADATA_FILE, read_metadata
from diagnostics.models import HoldoutEvaluation, ModelVersion

# The parts of metadata.json that decide a model's predictions on given features: two folders
# under one version name that differ here are different models.
PREDICTION_FIELDS = ("classes", "head", "calibration")
Role = ModelVersion.Role


def model_role(metadata):
    """The role of a model from its metadata.json (see served_model.model_role)."""
    return Role(served_model.model_role(metadata))


def shipped_model_dir(role):
    """The folder the deployment ships the model of ``role`` in (settings)."""
    return Path(settings.BETHESDA_MODEL_DIR if role == Role.BETHESDA
                else settings.CLASSIFIER_MODEL_DIR)


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
        defaults={"directory": stored_directory(directory), "metadata": metadata,
                  "role": model_role(metadata)},
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
    """Make ``model`` the active one of its role; the other role's stays as it is."""
    with transaction.atomic():
        (ModelVersion.objects.filter(is_active=True, role=model.role).exclude(pk=model.pk)
         .update(is_active=False))
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


def active_model(role=Role.MORPHOLOGY):
    """The active ModelVersion of ``role``; on first use, the shipped model of that role
    (CELINSIGHT_MODEL_DIR, CELINSIGHT_BETHESDA_MODEL_DIR).

    When an upgrade replaced the shipped model and the old shipped version is still the
    active one, the new shipped version is registered and made active. Raises when the
    morphology model is missing: every cell needs it.
    """
    model = ModelVersion.objects.filter(is_active=True, role=role).first()
    if model is not None and not _is_replaced_shipped_model(model):
        return model
    try:
        return activate_model(register_model(shipped_model_dir(role)))
    except IntegrityError:  # another process activated one at the same moment
        return ModelVersion.objects.get(is_active=True, role=role)


def active_bethesda_model():
    """The active Bethesda ModelVersion, or None where the deployment has none (no active
    one registered and no shipped folder): its cells get a morphology class only."""
    if ModelVersion.objects.filter(is_active=True, role=Role.BETHESDA).exists():
        return active_model(Role.BETHESDA)
    if not (shipped_model_dir(Role.BETHESDA) / METADATA_FILE).exists():
        return None
    return active_model(Role.BETHESDA)


def _is_replaced_shipped_model(model):
    shipped_dir = shipped_model_dir(model.role).resolve()
    return (model.path.resolve() == shipped_dir
            and folder_version(shipped_dir) != model.version)
