"""The admin's "make active": the latest holdout evaluation first, or a warning."""
import json
import shutil
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from diagnostics.models import HoldoutEvaluation, ModelVersion
from diagnostics.registry import active_model, register_model

CHANGELIST = "admin:diagnostics_modelversion_changelist"


@pytest.fixture
def candidate(db, tmp_path):
    """A copy of the shipped model registered as another version, not active."""
    directory = tmp_path / "candidate"
    shutil.copytree(settings.CLASSIFIER_MODEL_DIR, directory)
    metadata = json.loads((directory / "metadata.json").read_text())
    (directory / "metadata.json").write_text(json.dumps({**metadata, "version": "candidate-2"}))
    active_model()  # the shipped one is active
    return register_model(directory)


def holdout_evaluation(model, accuracy, evaluated_by=None, days_ago=0):
    report = {"kind": "holdout", "metrics": {
        "accuracy": accuracy, "macro_f1": 0.912, "referral_rate": 0.083,
        "abnormal": {"sensitivity": 0.987, "specificity": 0.954}}}
    return HoldoutEvaluation.objects.create(
        model_version=model, holdout_path="/lab/holdout-2026", holdout_sha256="ab" * 32,
        n_cells=412, report=report, evaluated_by=evaluated_by,
        evaluated_at=timezone.now() - timedelta(days=days_ago))


def make_active(client, model, confirmed=False):
    data = {"action": "make_active", "_selected_action": [model.pk]}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(reverse(CHANGELIST), data)


def test_the_latest_holdout_evaluation_is_shown_before_activation(client_for, administrator,
                                                                   candidate):
    holdout_evaluation(candidate, 0.811, days_ago=30)
    holdout_evaluation(candidate, 0.943, evaluated_by=administrator)
    page = make_active(client_for(administrator), candidate).content.decode()
    assert "Latest holdout evaluation" in page
    for figure in ("0.943", "0.912", "0.987", "0.954", "8.3%", "412", "/lab/holdout-2026",
                   administrator.username):
        assert figure in page
    assert "0.811" not in page
    candidate.refresh_from_db()
    assert not candidate.is_active  # nothing changes until the administrator confirms


def test_a_model_never_evaluated_on_a_holdout_is_warned_about(client_for, administrator,
                                                              candidate):
    page = make_active(client_for(administrator), candidate).content.decode()
    assert "has no holdout evaluation" in page
    assert "evaluate_classifier --model candidate-2 --holdout" in page
    assert "active without a holdout evaluation" in page
    candidate.refresh_from_db()
    assert not candidate.is_active


def test_confirming_makes_it_active_and_the_audit_trail_names_the_evaluation(
        client_for, administrator, candidate):
    evaluation = holdout_evaluation(candidate, 0.943)
    response = make_active(client_for(administrator), candidate, confirmed=True)
    assert response.status_code == 302
    assert ModelVersion.objects.get(is_active=True, role="morphology") == candidate
    entry = LogEntry.objects.get(content_type__model="modelversion")
    assert entry.actor == administrator
    assert entry.additional_data == {"holdout_evaluation": evaluation.pk,
                                     "activated_without_holdout_evaluation": False}


def test_the_administrator_may_proceed_without_an_evaluation_after_confirming(
        client_for, administrator, candidate):
    client = client_for(administrator)
    response = make_active(client, candidate, confirmed=True)
    assert ModelVersion.objects.get(is_active=True, role="morphology") == candidate
    messages = client.get(response.url).content.decode()
    assert "now active without a holdout evaluation" in messages
    entry = LogEntry.objects.get(content_type__model="modelversion")
    assert entry.additional_data["activated_without_holdout_evaluation"] is True


def test_the_change_page_and_the_list_show_the_latest_evaluation(client_for, administrator,
                                                                 candidate):
    client = client_for(administrator)
    change = reverse("admin:diagnostics_modelversion_change", args=[candidate.pk])
    assert "None: score it on the lab" in client.get(change).content.decode()
    holdout_evaluation(candidate, 0.943)
    assert "accuracy 0.943" in client.get(change).content.decode()
    evaluations = client.get(reverse("admin:diagnostics_holdoutevaluation_changelist"))
    assert evaluations.status_code == 200 and "/lab/holdout-2026" in evaluations.content.decode()


def test_holdout_evaluations_cannot_be_edited_in_the_admin(client_for, administrator,
                                                          candidate):
    evaluation = holdout_evaluation(candidate, 0.943)
    client = client_for(administrator)
    change = reverse("admin:diagnostics_holdoutevaluation_change", args=[evaluation.pk])
    response = client.post(change, {"holdout_path": "/forged"})
    evaluation.refresh_from_db()
    assert response.status_code == 403 and evaluation.holdout_path == "/lab/holdout-2026"


def test_a_retrained_morphology_model_that_ends_the_shared_pass_is_warned_about(
        client_for, administrator, candidate, shared_pass):
    client = client_for(administrator)
    assert 'id="ends-shared-pass"' not in make_active(client, candidate).content.decode()
    retrained = candidate.metadata
    retrained["backbone"]["fine_tuned"]["sha256"] = "0" * 64  # other fine-tuned weights
    ModelVersion.objects.filter(pk=candidate.pk).update(metadata=retrained)
    page = make_active(client, candidate).content.decode()
    assert 'id="ends-shared-pass"' in page
    assert "two backbone passes a cell" in page
