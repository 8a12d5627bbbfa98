"""The model the workers serve: loaded once per worker process, not once per image."""
import functools
import json
from pathlib import Path

from django.conf import settings


@functools.cache
def read_model_metadata(model_dir):
    return json.loads((Path(model_dir) / "metadata.json").read_text())


@functools.cache
def load_model(model_dir):
    from diagnostics.engine import load_classifier  # torch is imported only where it is needed

    return load_classifier(Path(model_dir))


def active_model_version():
    return read_model_metadata(str(settings.CLASSIFIER_MODEL_DIR))["version"]


def active_classifier():
    return load_model(str(settings.CLASSIFIER_MODEL_DIR))
