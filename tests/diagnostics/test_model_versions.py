import json
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from diagnostics import tasks
from diagnostics.models import CellResult, ModelVersion
from diagnostics.registry import active_model, register_model
from imaging.uploads import store_upload


@pytest.fixture
def second_model_dir(tmp_path):
    """A copy of the shipped model registered under another version name."""
    directory = tmp_path / "second-model"
    shutil.copytree(settings.CLASSIFIER_MODEL_DIR, directory)
    metadata = json.loads((directory / "metadata.json").read_text())
    metadata["version"] = "second-model-1"
    (directory / "metadata.json").write_text(json.dumps(metadata))
    return directory


def test_the_shipped_model_is_active_on_first_use(db):
    model = active_model()
    shipped = json.loads((settings.CLASSIFIER_MODEL_DIR / "metadata.json").read_text())
    assert model.is_active and model.version == shipped["version"]
    assert model.directory == "diagnostics/trained_models/default"
    assert model.validation["accuracy"] == shipped["validation"]["accuracy"]


def test_registering_twice_keeps_one_record(db, second_model_dir):
    assert register_model(second_model_dir) == register_model(second_model_dir)
    assert ModelVersion.objects.filter(version="second-model-1").count() == 1


def test_administrator_makes_a_model_active_and_new_uploads_use_it(
    client_for, administrator, second_model_dir, specimen, lab_staff, sample_upload
):
    shipped = active_model()
    second = register_model(second_model_dir)
    response = client_for(administrator).post(reverse("admin:diagnostics_modelversion_changelist"), {
        "action": "make_active", "_selected_action": [second.pk], "confirmed": "yes"})
    assert response.status_code == 302
    assert ModelVersion.objects.get(is_active=True, role="morphology") == second
    assert not ModelVersion.objects.get(pk=shipped.pk).is_active

    store_upload(specimen, lab_staff, sample_upload(2))
    result_ids = list(CellResult.objects.values_list("pk", flat=True))
    assert tasks.classify_results(result_ids) == 2
    assert set(CellResult.objects.values_list("model_version", "status")) == {("second-model-1", "done")}


def test_lab_staff_cannot_change_the_active_model(client_for, lab_staff):
    response = client_for(lab_staff).get(reverse("admin:diagnostics_modelversion_changelist"))
    assert response.status_code == 302


def test_an_upgraded_shipped_model_replaces_the_old_shipped_version(db, settings,
                                                                    second_model_dir):
    settings.CLASSIFIER_MODEL_DIR = second_model_dir
    old = ModelVersion.objects.create(version="shipped-before-upgrade",
                                      directory=str(second_model_dir), is_active=True)
    model = active_model()
    assert model.version == "second-model-1" and model.is_active
    old.refresh_from_db()
    assert not old.is_active


def test_a_version_whose_folder_was_overwritten_is_not_served(db, second_model_dir):
    from diagnostics.classifier import classifier_for

    ModelVersion.objects.create(version="overwritten-1", directory=str(second_model_dir))
    with pytest.raises(LookupError, match="now holds second-model-1"):
        classifier_for("overwritten-1")


def test_loading_a_model_reads_its_metadata_once(db, second_model_dir, monkeypatch):
    from diagnostics.classifier import load_model

    reads = count_metadata_reads(monkeypatch)
    classifier = load_model.__wrapped__(str(second_model_dir), "second-model-1")
    assert classifier.version == "second-model-1" and len(reads) == 1


def count_metadata_reads(monkeypatch):
    reads = []
    read_text = Path.read_text

    def counting_read_text(path, *args, **kwargs):
        if path.name == "metadata.json":
            reads.append(path)
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counting_read_text)
    return reads


def test_upload_batches_do_not_reread_the_model_metadata(db, monkeypatch):
    from diagnostics.classifier import active_model_version

    shipped = active_model_version()  # registers the shipped model
    reads = count_metadata_reads(monkeypatch)
    assert [active_model_version() for _ in range(5)] == [shipped] * 5
    assert len(reads) <= 1  # once (unless an earlier test did), then only when it changes


def test_a_new_model_written_into_the_shipped_folder_is_noticed(db, settings, second_model_dir):
    settings.CLASSIFIER_MODEL_DIR = second_model_dir
    assert active_model().version == "second-model-1"
    metadata = json.loads((second_model_dir / "metadata.json").read_text())
    (second_model_dir / "metadata.json").write_text(json.dumps({**metadata,
                                                               "version": "retrained-2"}))
    assert active_model().version == "retrained-2"
