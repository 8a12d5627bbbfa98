"""0014_bethesda_model: model roles, and the shipped Bethesda model registered as the active
Bethesda model where its folder exists."""
import json

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("diagnostics", "0013_administrators_see_holdout_evaluations")]
AFTER = [("diagnostics", "0014_bethesda_model")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def leave_the_schema_current():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def metadata(folder):
    return json.loads((folder / "metadata.json").read_text())


def active_by_role(apps):
    return dict(apps.get_model("diagnostics", "ModelVersion").objects.filter(is_active=True)
                .values_list("role", "version"))


@pytest.mark.django_db(transaction=True)
def test_the_shipped_bethesda_model_becomes_the_active_bethesda_model():
    apps = migrate(BEFORE)
    ModelVersion = apps.get_model("diagnostics", "ModelVersion")
    ModelVersion.objects.all().delete()
    shipped = metadata(settings.CLASSIFIER_MODEL_DIR)
    ModelVersion.objects.create(version=shipped["version"], metadata=shipped, is_active=True,
                                directory="diagnostics/trained_models/default")
    try:
        assert active_by_role(migrate(AFTER)) == {
            "morphology": shipped["version"],
            "bethesda": metadata(settings.BETHESDA_MODEL_DIR)["version"]}
    finally:
        leave_the_schema_current()


@pytest.mark.django_db(transaction=True)
def test_a_bethesda_model_registered_before_roles_gets_its_role(settings, tmp_path):
    apps = migrate(BEFORE)
    ModelVersion = apps.get_model("diagnostics", "ModelVersion")
    ModelVersion.objects.all().delete()
    bethesda = metadata(settings.BETHESDA_MODEL_DIR)
    # evaluate_classifier registered it, and someone made it the (only) active model.
    ModelVersion.objects.create(version=bethesda["version"], metadata=bethesda, is_active=True,
                                directory="elsewhere/bethesda")
    settings.BETHESDA_MODEL_DIR = tmp_path / "not-shipped"
    try:
        apps = migrate(AFTER)
        model = apps.get_model("diagnostics", "ModelVersion").objects.get()
        assert (model.role, model.is_active) == ("bethesda", False)
    finally:
        leave_the_schema_current()


@pytest.mark.django_db(transaction=True)
def test_without_the_folder_no_bethesda_model_is_registered(settings, tmp_path):
    migrate(BEFORE)
    settings.BETHESDA_MODEL_DIR = tmp_path / "not-shipped"
    try:
        apps = migrate(AFTER)
        assert "bethesda" not in active_by_role(apps)
    finally:
        leave_the_schema_current()
