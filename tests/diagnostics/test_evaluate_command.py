import io
import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from diagnostics.engine import HybridClassifier, LightGBMHead, list_image_folder, save_classifier


@pytest.fixture(scope="module")
def model_dir(data_dir, tmp_path_factory):
    dataset = list_image_folder(data_dir)
    classifier = HybridClassifier(
        head=LightGBMHead(n_estimators=10, min_child_samples=1), image_size=64,
        views=["identity", "hflip"], pretrained=False)
    out = tmp_path_factory.mktemp("model")
    save_classifier(classifier.fit(list(dataset.images()), dataset.labels), out,
                    {"version": "tiny-1"})
    return out


def evaluate(data_dir, model_dir, out, tmp_path):
    stdout = io.StringIO()
    call_command("evaluate_classifier", data=data_dir, model=model_dir, folds=2, out=out,
                 cache_dir=tmp_path / "cache", verbosity=0, stdout=stdout)
    return stdout.getvalue()


def test_it_saves_the_report_table_and_confusion_matrix(data_dir, model_dir, tmp_path):
    out = tmp_path / "evaluation"
    printed = evaluate(data_dir, model_dir, out, tmp_path)
    report = json.loads((out / "evaluation.json").read_text())
    assert report["model"]["version"] == "tiny-1"
    assert report["recipe"]["views"] == ["identity", "hflip"]
    assert report["data"]["n_images"] == 18
    assert len(report["metrics"]["per_fold_accuracy"]) == 2
    assert 0 <= report["metrics"]["ece"] <= 1
    assert "| Accuracy |" in (out / "evaluation.md").read_text()
    with Image.open(out / "confusion_matrix.png") as image:
        assert image.format == "PNG"
    for class_name in sorted(path.name for path in data_dir.iterdir()):
        assert f"| {class_name} |" in printed


def test_unknown_model_is_reported(db, data_dir, tmp_path):
    with pytest.raises(CommandError, match="neither a model folder nor a registered model version"):
        evaluate(data_dir, tmp_path / "no-model", tmp_path / "out", tmp_path)


def test_a_registered_model_version_is_evaluated_by_name(db, data_dir, model_dir, tmp_path):
    from diagnostics.registry import register_model

    register_model(model_dir)
    out = tmp_path / "by-name"
    evaluate(data_dir, "tiny-1", out, tmp_path)
    assert json.loads((out / "evaluation.json").read_text())["model"]["version"] == "tiny-1"


def test_groups_default_to_the_engines_cluster_image_pattern():
    from diagnostics.engine.datasets import DEFAULT_GROUP_PATTERN
    from diagnostics.management.commands.evaluate_classifier import Command

    arguments = Command().create_parser("manage.py", "evaluate_classifier").parse_args(
        ["--data", "cells"])
    assert arguments.group_pattern == DEFAULT_GROUP_PATTERN


def test_a_holdout_set_is_scored_without_refitting_and_written_as_json(db, data_dir, model_dir,
                                                                        tmp_path):
    stdout = io.StringIO()
    out = tmp_path / "holdout.json"
    call_command("evaluate_classifier", model=str(model_dir), holdout=data_dir, json_out=out,
                 stdout=stdout)
    report = json.loads(out.read_text())
    assert report["kind"] == "holdout"
    assert report["model"]["version"] == "tiny-1"
    assert report["data"]["n_images"] == 18
    assert set(report["metrics"]) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix",
                                      "abnormal", "referral_rate", "accuracy_not_referred"}
    assert report["metrics"]["abnormal"]["classes"] == ["Dyskeratotic"]
    assert "sensitivity" in stdout.getvalue()


def test_holdout_labels_the_model_does_not_know_are_reported(db, data_dir, model_dir, tmp_path):
    holdout = tmp_path / "holdout"
    shutil.copytree(data_dir, holdout)
    (holdout / "Parabasal").rename(holdout / "HSIL")
    with pytest.raises(CommandError, match="labels the model does not know: HSIL"):
        call_command("evaluate_classifier", model=str(model_dir), holdout=holdout,
                     stdout=io.StringIO())


def test_without_data_or_holdout_it_says_what_to_pass(model_dir):
    with pytest.raises(CommandError, match="--data DIR .* or --holdout DIR"):
        call_command("evaluate_classifier", model=str(model_dir), stdout=io.StringIO())
