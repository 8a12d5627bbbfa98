import logging

import numpy as np
import pytest
from celery.exceptions import Retry
from django.urls import reverse
from PIL import Image

from diagnostics import services, tasks
from diagnostics.classifier import active_classifier
from diagnostics.engine.linear_explainer import LinearExplainer
from diagnostics.models import CellResult
from diagnostics.triage import ABNORMAL_CLASSES
from imaging.uploads import store_upload

DYSKERATOTIC, SUPERFICIAL = 0, 24  # positions of such cells among the sorted demo cells


@pytest.fixture
def explained_model(db, monkeypatch):
    """The served model with a (random) explainer and a referral threshold set per test."""
    classifier = active_classifier()
    explainer = LinearExplainer()
    rng = np.random.default_rng(0)
    explainer.coef_ = rng.normal(size=(len(classifier.classes_),
                                       classifier.backbone_.num_features)).astype(np.float32)
    explainer.intercept_ = np.zeros(len(classifier.classes_), dtype=np.float32)
    explainer.classes_ = list(classifier.classes_)
    monkeypatch.setattr(classifier, "explainer_", explainer, raising=False)

    def with_referral_threshold(threshold):
        monkeypatch.setattr(classifier, "calibration_",
                            {"temperature": 1.0, "referral_threshold": threshold}, raising=False)
        return classifier
    return with_referral_threshold


@pytest.fixture
def heatmap_requests(monkeypatch):
    """The result ids of every heat-map task sent (they run when the test says so)."""
    sent = []
    monkeypatch.setattr(tasks.store_heatmaps, "delay", sent.append)
    return sent


@pytest.fixture
def classify_cells(specimen, lab_staff, sample_upload, heatmap_requests,
                   django_capture_on_commit_callbacks):
    """Classify uploaded demo cells, then run the heat-map tasks that classification sent."""
    def classify(*starts):
        for start in starts:
            store_upload(specimen, lab_staff, sample_upload(1, start=start))
        with django_capture_on_commit_callbacks(execute=True):
            tasks.classify_results(list(CellResult.objects.values_list("pk", flat=True)))
        for result_ids in heatmap_requests:
            services.store_heatmaps_of(result_ids)
        return {result.image.original_name.split("_")[0]: result
                for result in CellResult.objects.select_related("image")}
    return classify


def test_an_abnormal_cell_gets_a_heatmap_and_a_confident_normal_one_does_not(
        explained_model, classify_cells, specimen):
    explained_model(0.0)  # nothing is flagged
    results = classify_cells(DYSKERATOTIC, SUPERFICIAL)
    abnormal, normal = results["Dyskeratotic"], results["Superficial-Intermediate"]
    assert abnormal.predicted_class in ABNORMAL_CLASSES
    assert normal.predicted_class not in ABNORMAL_CLASSES and not normal.refer_to_cytologist
    assert abnormal.heatmap.name == f"heatmaps/{specimen.pk}/{abnormal.pk}.webp"
    with abnormal.heatmap.open("rb") as stored:
        overlay = Image.open(stored)
        assert (overlay.format, overlay.mode) == ("WEBP", "RGB")
    assert not normal.heatmap


def test_a_normal_cell_flagged_for_a_cytologist_gets_a_heatmap(explained_model, classify_cells):
    explained_model(1.01)  # everything is flagged
    normal = classify_cells(SUPERFICIAL)["Superficial-Intermediate"]
    assert normal.refer_to_cytologist and normal.heatmap


def test_a_grad_cam_failure_keeps_the_classification(explained_model, classify_cells,
                                                     monkeypatch, caplog):
    import diagnostics.engine.explain

    def broken(*args):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(diagnostics.engine.explain, "grad_cam_overlays", broken)
    explained_model(1.01)
    with caplog.at_level(logging.ERROR, logger="diagnostics.services"):
        result = classify_cells(DYSKERATOTIC)["Dyskeratotic"]
    assert result.status == "done" and result.refer_to_cytologist and not result.heatmap
    assert "Grad-CAM of results" in caplog.text


def test_a_model_without_explainer_classifies_without_heatmaps(classify_cells, monkeypatch):
    # A model saved without one (a blending model cannot be: its probabilities need it).
    monkeypatch.setattr(active_classifier(), "explainer_", None, raising=False)
    monkeypatch.setattr(active_classifier(), "blend_explainer", False)
    result = classify_cells(DYSKERATOTIC)["Dyskeratotic"]
    assert result.status == "done" and not result.heatmap


def test_heatmaps_are_served_only_to_users_who_may_see_the_specimen(
        explained_model, classify_cells, client_for, doctor, other_doctor):
    explained_model(1.01)
    result = classify_cells(DYSKERATOTIC)["Dyskeratotic"]
    url = reverse("imaging:heatmap_file", args=[result.image_id, result.pk])
    response = client_for(doctor).get(url)
    assert (response.status_code, response["Content-Type"]) == (200, "image/webp")
    assert b"".join(response.streaming_content)[8:12] == b"WEBP"  # RIFF....WEBP
    assert client_for(other_doctor).get(url).status_code == 404


def test_heatmaps_are_requested_after_the_results_are_stored(
        explained_model, specimen, lab_staff, sample_upload, heatmap_requests,
        django_capture_on_commit_callbacks):
    explained_model(0.0)
    store_upload(specimen, lab_staff, sample_upload(1, start=DYSKERATOTIC))
    store_upload(specimen, lab_staff, sample_upload(1, start=SUPERFICIAL))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.classify_results(list(CellResult.objects.values_list("pk", flat=True)))
    abnormal = CellResult.objects.get(predicted_class__in=ABNORMAL_CLASSES)
    assert abnormal.status == "done" and not abnormal.heatmap  # not held back by Grad-CAM
    assert heatmap_requests == [[abnormal.pk]]  # the confident normal cell needs none


def test_heatmap_task_waits_while_images_are_queued_for_classification(
        explained_model, classify_cells, specimen, lab_staff, sample_upload, monkeypatch):
    explained_model(1.01)
    result = classify_cells(DYSKERATOTIC)["Dyskeratotic"]
    result.heatmap.delete()
    store_upload(specimen, lab_staff, sample_upload(1, start=SUPERFICIAL))  # queued now
    assert services.classification_waiting()
    monkeypatch.setattr(tasks.store_heatmaps, "apply_async", lambda *args, **kwargs: None)
    with pytest.raises(Retry):
        tasks.store_heatmaps([result.pk])
    result.refresh_from_db()
    assert not result.heatmap


def test_a_repeated_heatmap_task_does_no_work_twice(explained_model, classify_cells):
    explained_model(1.01)
    result = classify_cells(DYSKERATOTIC)["Dyskeratotic"]
    assert result.heatmap
    assert services.store_heatmaps_of([result.pk]) == 0


def test_a_heatmap_stored_as_png_before_webp_is_still_served_as_png(client_for, doctor,
                                                                    specimen, make_result):
    import io

    from django.core.files.base import ContentFile

    result = make_result(specimen, {"Dyskeratotic": 0.9, "Parabasal": 0.1}, refer=True)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (230, 40, 20)).save(buffer, format="PNG")
    result.heatmap.save(f"{result.pk}.png", ContentFile(buffer.getvalue()))
    response = client_for(doctor).get(result.heatmap_url())
    assert (response.status_code, response["Content-Type"]) == (200, "image/png")
