import math

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from diagnostics import services, tasks
from diagnostics.classifier import active_classifier, active_model_version
from diagnostics.models import CellResult
from imaging.uploads import store_upload


@pytest.fixture
def queued_results(specimen, lab_staff, sample_upload):
    store_upload(specimen, lab_staff, sample_upload(5, start=10))
    return CellResult.objects.filter(status="queued")


def classify(results):
    return tasks.classify_results(list(results.values_list("pk", flat=True)))


def test_each_image_gets_one_result_with_probabilities(queued_results):
    assert classify(queued_results) == 5
    classes = active_classifier().classes_
    for result in CellResult.objects.all():
        assert result.status == "done"
        assert sorted(result.probabilities) == sorted(classes)  # jsonb orders keys its own way
        assert math.isclose(sum(result.probabilities.values()), 1.0, abs_tol=1e-6)
        assert result.predicted_class == max(result.probabilities, key=result.probabilities.get)
        assert result.model_version == active_model_version()
        assert result.seconds_taken > 0 and result.finished_at >= result.started_at


def test_unreadable_stored_image_fails_with_its_reason(queued_results):
    broken = queued_results.first()
    broken.image.file.storage.delete(broken.image.file.name)
    classify(queued_results)
    broken.refresh_from_db()
    assert broken.status == "failed" and "could not be read" in broken.error
    assert CellResult.objects.filter(status="done").count() == 4


def test_an_image_the_model_cannot_prepare_fails_alone(queued_results, monkeypatch):
    classifier = active_classifier()
    prepare_pixels = classifier.prepare_pixels
    calls = []

    def prepare_all_but_the_second(images):
        calls.append(len(images))
        if len(calls) == 2:
            raise ValueError("conversion from mode XYZ not supported")
        return prepare_pixels(images)

    monkeypatch.setattr(classifier, "prepare_pixels", prepare_all_but_the_second)
    monkeypatch.setattr(services, "IMAGE_READ_THREADS", 1)  # a deterministic second call
    classify(queued_results)
    assert CellResult.objects.filter(status="done").count() == 4
    [failed] = CellResult.objects.filter(status="failed")
    assert "mode XYZ not supported" in failed.error


def test_finished_results_are_not_classified_again(queued_results):
    ids = list(queued_results.values_list("pk", flat=True))
    tasks.classify_results(ids)
    assert tasks.classify_results(ids) == 0


def test_model_is_loaded_once_per_process(db):
    assert active_classifier() is active_classifier()


def test_a_missing_model_is_reported_by_check(settings, tmp_path):
    settings.CLASSIFIER_MODEL_DIR = tmp_path
    with pytest.raises(SystemCheckError, match="classifier model is missing"):
        call_command("check")


def test_a_classifier_that_cannot_load_fails_the_results_with_the_reason(queued_results, monkeypatch):
    import diagnostics.services

    def broken_model(version):
        raise FileNotFoundError("head.txt is missing")

    monkeypatch.setattr(diagnostics.services, "classifier_for", broken_model)
    classify(queued_results)
    assert set(CellResult.objects.values_list("status", "error")) == {
        ("failed", "The classifier failed: head.txt is missing")}


def test_cells_below_the_referral_threshold_are_flagged_and_counted(
        queued_results, specimen, client_for, lab_staff, monkeypatch):
    classifier = active_classifier()
    monkeypatch.setattr(classifier, "calibration_",
                        {"temperature": 1.0, "referral_threshold": 0.999999}, raising=False)
    classify(queued_results)
    results = CellResult.objects.filter(status="done")
    referred = [r for r in results if r.confidence < 0.999999]
    assert referred, "the demo cells should include some below a 0.999999 threshold"
    assert all(r.refer_to_cytologist == (r.confidence < 0.999999) for r in results)
    page = client_for(lab_staff).get(specimen.get_absolute_url()).content.decode()
    assert f"{len(referred)} cell{'s' if len(referred) > 1 else ''} below" in page
    assert page.count("Refer to cytologist") == len(referred) + 1
