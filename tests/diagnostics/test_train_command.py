import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from diagnostics.engine import load_classifier
from diagnostics.models import ModelVersion


def train(*arguments):
    stdout = io.StringIO()
    call_command("train_classifier", *arguments, "--folds", "2", stdout=stdout)
    return stdout.getvalue()


@pytest.fixture(scope="module")
def trained(django_db_setup, django_db_blocker, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    with django_db_blocker.unblock():
        printed = train("--data", str(data_dir), "--out", str(out), "--epochs", "1",
                        "--model-version", "tiny-fine-tuned-1")
        registered = ModelVersion.objects.get(version="tiny-fine-tuned-1")
        yield printed, out, registered
        registered.delete()


def test_it_trains_calibrates_and_registers_the_default_hybrid(trained):
    printed, out, registered = trained
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["name"] == "efficientnet_lite0-finetuned-lightgbm"
    assert metadata["backbone"]["fine_tuned"]["settings"]["epochs"] == 1
    assert not registered.is_active
    assert "Calibration: temperature" in printed
    assert "Referral: confidence below" in printed
    assert "registered it" in printed


def test_the_trained_model_loads_with_its_calibration(trained):
    _, out, _ = trained
    classifier = load_classifier(out)
    assert classifier.version == "tiny-fine-tuned-1"
    assert classifier.calibration_["temperature"] > 0


def test_it_lists_the_hybrids():
    printed = train("--list-hybrids")
    for name in ("shufflenet_v2-lightgbm", "inception_v3-xgboost", "resnet34-lightgbm",
                 "vgg16-lightgbm", "efficientnet_lite0-finetuned-lightgbm"):
        assert name in printed


def test_an_unknown_hybrid_is_refused_with_the_list(data_dir, tmp_path):
    with pytest.raises(CommandError, match="available: .*vgg16-lightgbm"):
        train("--data", str(data_dir), "--out", str(tmp_path), "--hybrid", "alexnet-svm")


def test_missing_torchvision_weights_are_explained(db, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CELINSIGHT_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(CommandError, match="resnet34-.*pth not found"):
        train("--data", str(data_dir), "--out", str(tmp_path / "m"), "--hybrid",
              "resnet34-lightgbm")


def test_the_model_is_written_to_the_served_model_folder_by_default(settings, tmp_path):
    from diagnostics.management.commands.train_classifier import Command

    settings.CLASSIFIER_MODEL_DIR = tmp_path / "served"
    arguments = Command().create_parser("manage.py", "train_classifier").parse_args([])
    assert arguments.out == tmp_path / "served"


def test_it_says_whether_the_new_model_replaced_the_served_one(settings, tmp_path):
    from diagnostics.management.commands.train_classifier import _how_it_is_served

    settings.CLASSIFIER_MODEL_DIR = tmp_path / "served"
    assert "replaced the served model folder" in _how_it_is_served(tmp_path / "served")
    assert "administrator makes it active" in _how_it_is_served(tmp_path / "elsewhere")


def test_a_database_without_the_registry_is_refused_before_training(db, data_dir, tmp_path,
                                                                     monkeypatch):
    from django.db import OperationalError

    def no_table():
        raise OperationalError("no such table: diagnostics_modelversion")

    monkeypatch.setattr(ModelVersion.objects, "exists", no_table)
    with pytest.raises(CommandError, match="run `manage.py migrate` first"):
        train("--data", str(data_dir), "--out", str(tmp_path / "m"))
    assert not (tmp_path / "m").exists()
