"""Each cell gets a morphology class and a Bethesda category: two models, one per role,
served by the same worker; pages and reports show the Bethesda categories."""
import io
import json
import math

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from diagnostics import cell_predictions, registry, review, services, tasks
from diagnostics.classifier import bethesda_classifier
from diagnostics.models import CellResult, ModelVersion, SpecimenSignOff
from imaging.uploads import store_upload

SHIPPED_BETHESDA = json.loads((settings.BETHESDA_MODEL_DIR / "metadata.json").read_text())
NORMAL = {"Superficial-Intermediate": 0.9, "Dyskeratotic": 0.1}
ABNORMAL = {"Superficial-Intermediate": 0.2, "Koilocytotic": 0.8}
LSIL = {"specimen_type": "liquid_based", "adequacy": "satisfactory",
        "transformation_zone": "present", "interpretation": "lsil", "hpv_result": "positive_16",
        "recommendations": ["colposcopy"]}
NILM_NAME = "Negative for intraepithelial lesion"


@pytest.fixture
def queued_ids(specimen, lab_staff, sample_upload):
    store_upload(specimen, lab_staff, sample_upload(3, start=20))
    return list(CellResult.objects.filter(status="queued").values_list("pk", flat=True))


def test_the_worker_stores_a_morphology_class_and_a_bethesda_category(queued_ids):
    assert tasks.classify_results(queued_ids) == 3
    for result in CellResult.objects.all():
        assert result.status == "done" and result.predicted_class
        assert result.model_version == registry.active_model().version
        assert result.bethesda_model_version == SHIPPED_BETHESDA["version"]
        # sorted: PostgreSQL's jsonb keeps the keys in an order of its own
        assert sorted(result.bethesda_probabilities) == sorted(SHIPPED_BETHESDA["classes"])
        assert math.isclose(sum(result.bethesda_probabilities.values()), 1.0, abs_tol=1e-6)
        assert result.bethesda_category == max(result.bethesda_probabilities,
                                               key=result.bethesda_probabilities.get)


def test_the_stored_category_is_the_bethesda_models_calibrated_prediction(queued_ids):
    tasks.classify_results(queued_ids)
    result = CellResult.objects.select_related("image").first()
    model = bethesda_classifier()
    expected = model.predict_proba([services.open_stored_image(result.image)])[0]
    stored = [result.bethesda_probabilities[name] for name in model.classes_]
    assert max(abs(a - b) for a, b in zip(stored, expected)) < 1e-5


def test_without_a_bethesda_model_cells_keep_their_morphology_class(queued_ids, settings,
                                                                    tmp_path):
    ModelVersion.objects.filter(role="bethesda").update(is_active=False)
    settings.BETHESDA_MODEL_DIR = tmp_path / "no-bethesda-model"
    assert registry.active_bethesda_model() is None
    assert tasks.classify_results(queued_ids) == 3
    assert set(CellResult.objects.values_list("status", "bethesda_category",
                                              "bethesda_model_version")) == {("done", "", "")}
    assert all(CellResult.objects.values_list("predicted_class", flat=True))


def test_a_failing_bethesda_model_leaves_the_morphology_classes_standing(queued_ids,
                                                                        monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bethesda backbone exploded")

    monkeypatch.setattr(bethesda_classifier(), "pixel_features", broken)
    assert tasks.classify_results(queued_ids) == 3
    assert set(CellResult.objects.values_list("status", "bethesda_category")) == {("done", "")}
    assert all(CellResult.objects.values_list("predicted_class", flat=True))


def test_the_bethesda_model_reads_the_morphology_models_pass_one_backbone_run_a_cell(
        shared_pass, queued_ids, monkeypatch):
    morphology, bethesda = registry_classifiers()
    assert cell_predictions.shares_pass(morphology, bethesda)
    calls = backbone_runs(monkeypatch, morphology, bethesda)
    tasks.classify_results(queued_ids)
    assert calls and all(model is bethesda for model in calls)


def test_the_shipped_bethesda_model_reads_the_shipped_morphology_models_pass(db):
    morphology, bethesda = registry_classifiers()
    assert cell_predictions.shares_pass(morphology, bethesda)  # one backbone, fine-tuned on both


def test_a_bethesda_model_fine_tuned_again_runs_its_own_pass_beside_the_morphology_models(
        own_pass, queued_ids, monkeypatch):
    morphology, bethesda = registry_classifiers()
    assert not cell_predictions.shares_pass(morphology, bethesda)
    calls = backbone_runs(monkeypatch, morphology, bethesda)
    tasks.classify_results(queued_ids)
    assert morphology in calls and bethesda in calls


def test_the_shared_pass_gives_each_model_its_own_probabilities(shared_pass, queued_ids):
    tasks.classify_results(queued_ids)
    morphology, _ = registry_classifiers()
    for result in CellResult.objects.select_related("image"):
        expected = morphology.predict_proba([services.open_stored_image(result.image)])[0]
        stored = [result.probabilities[name] for name in morphology.classes_]
        assert max(abs(a - b) for a, b in zip(stored, expected)) < 1e-5


def test_the_morphology_model_is_served_from_the_shared_backbone_its_own_never_compiled(
        shared_pass, queued_ids):
    from diagnostics.engine.serving import PrefixBackbone

    tasks.classify_results(queued_ids)
    morphology, bethesda = registry_classifiers()
    assert isinstance(morphology.backbone_, PrefixBackbone)
    assert morphology.backbone_.backbone is bethesda.backbone_
    assert morphology.backbone_.num_features == 1280


def test_the_morphology_model_follows_the_active_bethesda_models_pass(shared_pass, settings,
                                                                    tmp_path):
    from diagnostics.engine.serving import PrefixBackbone

    morphology, bethesda = registry_classifiers()
    assert morphology.backbone_.backbone is bethesda.backbone_
    ModelVersion.objects.filter(role="bethesda").update(is_active=False)
    settings.BETHESDA_MODEL_DIR = tmp_path / "no-bethesda-model"
    morphology, bethesda = registry_classifiers()
    assert bethesda is None and not isinstance(morphology.backbone_, PrefixBackbone)
    registry.activate_model(shared_pass)
    morphology, bethesda = registry_classifiers()
    assert morphology.backbone_.backbone is bethesda.backbone_


def backbone_runs(monkeypatch, *models):
    """A list that records the model of each backbone run from now on."""
    calls = []
    for model in models:
        run = model.backbone_.features
        monkeypatch.setattr(model.backbone_, "features",
                            lambda batch, run=run, model=model: calls.append(model) or run(batch))
    return calls


def registry_classifiers():
    from diagnostics.classifier import active_classifier

    return active_classifier(), bethesda_classifier()


def test_the_shipped_bethesda_model_is_registered_as_the_active_bethesda_model(db):
    model = registry.active_bethesda_model()
    assert (model.version, model.role, model.is_active) == (
        SHIPPED_BETHESDA["version"], "bethesda", True)
    assert registry.active_model().role == "morphology"


def test_making_a_model_active_leaves_the_other_roles_model_active(db):
    morphology, bethesda = registry.active_model(), registry.active_bethesda_model()
    newer = ModelVersion.objects.create(version="bethesda-2", role="bethesda",
                                        directory=bethesda.directory, metadata=bethesda.metadata)
    registry.activate_model(newer)
    assert set(ModelVersion.objects.filter(is_active=True).values_list("version", flat=True)) \
        == {morphology.version, "bethesda-2"}


def test_a_models_role_comes_from_its_metadata():
    assert registry.model_role(SHIPPED_BETHESDA) == "bethesda"
    assert registry.model_role({"classes": ["Dyskeratotic", "Parabasal"]}) == "morphology"
    assert registry.model_role({"classes": ["NILM", "HSIL"], "role": "morphology"}) == \
        "morphology"


@pytest.fixture
def cells(specimen, make_result):
    """Two classified cells: NILM (normal morphology) and LSIL (koilocytotic)."""
    made = []
    for morphology, category in [(NORMAL, NILM_NAME), (ABNORMAL, "LSIL")]:
        result = make_result(specimen, morphology)
        result.bethesda_model_version = "test-bethesda"
        result.bethesda_category = category
        result.bethesda_probabilities = {NILM_NAME: 0.3, "LSIL": 0.3, "HSIL": 0.1,
                                         category: 0.6}
        result.save()
        made.append(result)
    return made


def test_the_specimen_page_shows_the_category_of_each_cell_and_the_counts(
        client_for, doctor, specimen, cells):
    page = client_for(doctor).get(reverse("imaging:specimen", args=[specimen.pk]))
    content = page.content.decode()
    assert "Bethesda: LSIL" in content and "Bethesda: NILM" in content
    assert page.context["bethesda"]["counts"] == [
        {"category": "NILM", "cells": 1, "abnormal": False},
        {"category": "LSIL", "cells": 1, "abnormal": True},
        {"category": "HSIL", "cells": 0, "abnormal": True}]
    assert "1 in a category other than NILM (flagged)" in content
    assert "test-bethesda" in content and "test-model" in content
    assert page.context["bethesda"]["cell_images"] == 2
    assert "Uploaded as cell images: 2 of these cells;" in content


def test_the_signed_report_names_both_models_and_the_bethesda_counts(
        client_for, doctor, specimen, cells):
    report = review.sign_off_specimen(specimen, doctor, **LSIL)
    report.refresh_from_db()
    assert report.ai_model_versions == ["test-model", "test-bethesda"]
    assert report.bethesda_counts == {"test-bethesda": {"NILM": 1, "LSIL": 1}}
    assert (report.cells_analysed, report.cells_flagged_bethesda, report.cells_flagged) == \
        (2, 1, 1)
    assert "Bethesda categories per cell (test-bethesda): NILM 1, LSIL 1" in report.report_text
    assert "model versions test-model, test-bethesda" in report.report_text
    printed = client_for(doctor).get(reverse("diagnostics:report", args=[specimen.pk]))
    content = printed.content.decode()
    assert "Bethesda model test-bethesda" in content
    assert "1 in a Bethesda category other than NILM (flagged)" in content


def test_the_report_says_how_many_bethesda_categories_are_of_cell_images(
        client_for, doctor, specimen, cells, cut_from_a_field):
    cut_from_a_field(cells[0])  # the Bethesda model's material; the other is a cell image
    form = client_for(doctor).get(reverse("diagnostics:review", args=[specimen.pk]))
    assert "Uploaded as cell images: 1 of these cells;" in form.content.decode()
    report = review.sign_off_specimen(specimen, doctor, **LSIL)
    report.refresh_from_db()
    assert report.bethesda_cell_images == 1
    assert "Uploaded as cell images: 1 of these cells;" in report.report_text
    printed = client_for(doctor).get(reverse("diagnostics:report", args=[specimen.pk]))
    assert "Uploaded as cell images: 1 of these cells;" in printed.content.decode()


def test_no_caveat_when_every_categorised_cell_was_found_in_a_field(
        client_for, doctor, specimen, cells, cut_from_a_field):
    for result in cells:
        cut_from_a_field(result)
    form = client_for(doctor).get(reverse("diagnostics:review", args=[specimen.pk]))
    assert "Bethesda categories per cell" in form.content.decode()
    assert "Uploaded as cell images" not in form.content.decode()
    report = review.sign_off_specimen(specimen, doctor, **LSIL)
    report.refresh_from_db()
    assert report.bethesda_cell_images == 0
    assert "Uploaded as cell images" not in report.report_text


def test_a_version_signed_before_the_bethesda_model_prints_as_it_was_signed(
        client_for, doctor, specimen, make_result):
    make_result(specimen, ABNORMAL)
    signed = SpecimenSignOff.objects.create(
        specimen=specimen, interpretation="lsil", adequacy="satisfactory", signed_by=doctor,
        ai_used=True, ai_model_versions=["old-model"], cells_analysed=1, cells_flagged=1,
        cells_referred=0, morphology_counts={"old-model": {"Koilocytotic": 1}},
        report_text="The text as signed.\n")
    printed = client_for(doctor).get(reverse("diagnostics:report", args=[specimen.pk]))
    content = printed.content.decode()
    assert "model version old-model): 1 cell(s) analysed, 1 in an abnormal morphology class" \
        in content
    assert "Bethesda model" not in content
    signed.refresh_from_db()
    assert signed.report_text == "The text as signed.\n" and signed.report_text_intact


def test_the_api_gives_each_result_its_bethesda_category(doctor, specimen, cells):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=doctor).key}")
    result = client.get(reverse("api:result", args=[cells[1].pk])).json()
    assert (result["bethesda_category"], result["bethesda_model_version"]) == (
        "LSIL", "test-bethesda")
    assert result["bethesda_probabilities"]["LSIL"] == 0.6


def test_the_bethesda_model_is_evaluated_and_made_active_in_its_own_role(
        client_for, administrator, tmp_path, cric_folder):
    morphology, bethesda = registry.active_model(), registry.active_bethesda_model()
    call_command("evaluate_classifier", "--model", bethesda.version, "--holdout",
                 str(cric_folder(tmp_path / "cric")), stdout=io.StringIO())
    evaluation = bethesda.latest_holdout_evaluation()
    assert evaluation.n_cells == 16 and evaluation.sensitivity is not None
    bethesda.is_active = False
    bethesda.save(update_fields=["is_active"])
    changelist = reverse("admin:diagnostics_modelversion_changelist")
    page = client_for(administrator).post(changelist, {
        "action": "make_active", "_selected_action": [bethesda.pk]}).content.decode()
    assert "Bethesda categories" in page and "Latest holdout evaluation" in page
    client_for(administrator).post(changelist, {
        "action": "make_active", "_selected_action": [bethesda.pk], "confirmed": "yes"})
    assert set(ModelVersion.objects.filter(is_active=True).values_list("version", flat=True)) \
        == {morphology.version, bethesda.version}


def test_a_failing_bethesda_head_on_the_shared_pass_leaves_the_morphology_classes(
        shared_pass, queued_ids, monkeypatch):
    def broken(features):
        raise RuntimeError("bethesda head exploded")

    monkeypatch.setattr(bethesda_classifier(), "predict_proba_features", broken)
    assert tasks.classify_results(queued_ids) == 3
    assert set(CellResult.objects.values_list("status", "bethesda_category")) == {("done", "")}
