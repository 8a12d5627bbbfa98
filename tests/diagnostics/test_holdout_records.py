"""evaluate_classifier --holdout records its figures where the admin finds them."""
import io
import json
import shutil

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.core.management.base import CommandError

from diagnostics.engine import HybridClassifier, LightGBMHead, list_image_folder, save_classifier
from diagnostics.models import HoldoutEvaluation, ModelVersion


@pytest.fixture(scope="module")
def model_dir(data_dir, tmp_path_factory):
    dataset = list_image_folder(data_dir)
    classifier = HybridClassifier(head=LightGBMHead(n_estimators=5, min_child_samples=1),
                                  image_size=32, pretrained=False)
    out = tmp_path_factory.mktemp("model")
    save_classifier(classifier.fit(list(dataset.images()), dataset.labels), out,
                    {"version": "tiny-holdout-1"}, export_onnx=False)
    return out


def evaluate_holdout(model, holdout, *arguments):
    stdout = io.StringIO()
    call_command("evaluate_classifier", "--model", str(model), "--holdout", str(holdout),
                 *arguments, stdout=stdout)
    return stdout.getvalue()


def test_a_holdout_evaluation_is_recorded_for_the_models_version(db, data_dir, model_dir,
                                                                  administrator):
    printed = evaluate_holdout(model_dir, data_dir, "--evaluated-by", administrator.username)
    evaluation = HoldoutEvaluation.objects.get()
    assert evaluation.model_version == ModelVersion.objects.get(version="tiny-holdout-1")
    assert evaluation.holdout_path == str(data_dir)
    assert evaluation.n_cells == 18 and len(evaluation.holdout_sha256) == 64
    assert evaluation.evaluated_by == administrator
    assert 0 <= evaluation.accuracy <= 1 and evaluation.report["kind"] == "holdout"
    assert "Recorded as holdout evaluation" in printed


def test_the_record_is_in_the_audit_trail_with_who_answers_for_it(db, data_dir, model_dir,
                                                                    administrator):
    evaluate_holdout(model_dir, data_dir, "--evaluated-by", administrator.username)
    entry = LogEntry.objects.get(content_type__model="holdoutevaluation")
    assert entry.action == LogEntry.Action.CREATE and entry.actor == administrator


def test_without_a_named_user_the_account_that_ran_it_is_recorded(db, data_dir, model_dir):
    evaluate_holdout(model_dir, data_dir)
    evaluation = HoldoutEvaluation.objects.get()
    assert evaluation.evaluated_by is None and evaluation.evaluator_name()


def test_an_unknown_evaluator_is_refused_before_scoring(db, data_dir, model_dir):
    with pytest.raises(CommandError, match="No user 'nobody'"):
        evaluate_holdout(model_dir, data_dir, "--evaluated-by", "nobody")
    assert not HoldoutEvaluation.objects.exists()


def test_another_model_under_a_registered_version_name_is_refused(db, data_dir, model_dir,
                                                                   tmp_path):
    impostor = tmp_path / "impostor"
    shutil.copytree(model_dir, impostor)
    metadata = json.loads((model_dir / "metadata.json").read_text())
    ModelVersion.objects.create(version="tiny-holdout-1", directory="elsewhere",
                                metadata={**metadata, "classes": ["a", "b"]})
    with pytest.raises(CommandError, match="two models under one name"):
        evaluate_holdout(impostor, data_dir)
    assert not HoldoutEvaluation.objects.exists()
