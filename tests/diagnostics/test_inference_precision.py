import pytest
from django.core.checks import run_checks

from diagnostics import checks
from diagnostics.classifier import active_classifier, load_model
from diagnostics.engine.precision import AUTO, PRECISIONS


@pytest.fixture
def fresh_model_cache():
    load_model.cache_clear()
    yield
    load_model.cache_clear()


def test_the_check_knows_the_engines_precisions():
    assert set(checks.INFERENCE_PRECISIONS) == {AUTO, *PRECISIONS}


def test_an_unknown_precision_fails_the_system_check(settings):
    settings.CLASSIFIER_INFERENCE_PRECISION = "float16"
    errors = [e for e in run_checks() if e.id == "diagnostics.E002"]
    assert errors and "float16" in errors[0].msg


def test_workers_serve_the_model_in_the_configured_precision(db, settings, fresh_model_cache):
    settings.CLASSIFIER_INFERENCE_PRECISION = "bfloat16"
    assert active_classifier().inference_precision == "bfloat16"


def test_workers_serve_float32_by_default(db, fresh_model_cache):
    assert active_classifier().inference_precision == "float32"
