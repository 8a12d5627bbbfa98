"""The former three-category sign-offs become Bethesda report versions (0010_migrate_sign_offs)."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("diagnostics", "0008_free_text_limits")]
AFTER = [("diagnostics", "0010_migrate_sign_offs")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def old_sign_offs(apps):
    user = apps.get_model("auth", "User").objects.create(username="old_doctor")
    patient = apps.get_model("patients", "Patient").objects.create(
        mrn="MRN-OLD", full_name="Old Patient", date_of_birth="1970-05-06", created_by=user)
    Specimen = apps.get_model("imaging", "Specimen")
    SignOff = apps.get_model("diagnostics", "SpecimenSignOff")
    for number, interpretation in enumerate(["negative", "benign_change", "abnormal_refer"]):
        specimen = Specimen.objects.create(patient=patient, accession_number=f"OLD-{number}",
                                           collected_on="2025-01-01", created_by=user)
        SignOff.objects.create(specimen=specimen, interpretation=interpretation,
                               comment=f"old {interpretation}", signed_by=user)


def by_accession(apps, *fields):
    SignOff = apps.get_model("diagnostics", "SpecimenSignOff")
    return {row[0]: row[1:] for row in SignOff.objects.values_list(
        "specimen__accession_number", *fields)}


@pytest.mark.django_db(transaction=True)
def test_old_sign_offs_migrate_to_bethesda_and_back():
    old_sign_offs(migrate(BEFORE))
    fields = ("interpretation", "general_category", "other_findings", "comment")
    try:
        migrated = by_accession(migrate(AFTER), *fields)
        assert migrated == {
            "OLD-0": ("nilm", "nilm", [], "old negative"),
            "OLD-1": ("nilm", "nilm", ["reactive_inflammation"], "old benign_change"),
            "OLD-2": ("see_comment", "epithelial_abnormality", [], "old abnormal_refer"),
        }
        assert by_accession(migrate(BEFORE), "interpretation") == {
            "OLD-0": ("negative",), "OLD-1": ("benign_change",), "OLD-2": ("abnormal_refer",)}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())  # leave the schema current


@pytest.mark.django_db(transaction=True)
def test_a_migrated_see_comment_report_renders():
    from diagnostics.models import SpecimenSignOff

    old_sign_offs(migrate(BEFORE))
    try:
        migrate(AFTER)
        # The model class is today's: read with today's schema (later migrations add fields).
        MigrationExecutor(connection).migrate(
            MigrationExecutor(connection).loader.graph.leaf_nodes())
        migrated = SpecimenSignOff.objects.get(specimen__accession_number="OLD-2")
        assert migrated.headline() == "Epithelial cell abnormality, see comment"
        assert migrated.signer_name() == "old_doctor" and migrated.report_text == ""
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
