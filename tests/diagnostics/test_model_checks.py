import json

from django.core.checks import run_checks


def model_errors():
    return [error for error in run_checks() if error.id == "diagnostics.E001"]


def test_the_shipped_model_passes_the_check():
    assert model_errors() == []


def test_a_missing_model_is_reported_with_how_to_restore_it(settings, tmp_path):
    settings.CLASSIFIER_MODEL_DIR = tmp_path
    (error,) = model_errors()
    assert "is missing" in error.msg and "train_classifier" in error.hint


def test_an_unreadable_metadata_file_is_reported(settings, tmp_path):
    settings.CLASSIFIER_MODEL_DIR = tmp_path
    (tmp_path / "metadata.json").write_text(json.dumps({"version": "x"})[:-3])
    (error,) = model_errors()
    assert "not valid JSON" in error.msg
