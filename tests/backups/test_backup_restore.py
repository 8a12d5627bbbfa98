"""A backup made by backup_data and restored by restore_data brings back every record, audit
entry and file, as they were (SQLite and local storage; tests/integration does PostgreSQL
and S3)."""
import shutil
import sqlite3

import pytest
from cryptography.fernet import Fernet
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper

from backups.destinations import PREFIX, SUFFIX
from backups.snapshot import consistent_snapshot
from diagnostics.models import SpecimenSignOff
from imaging.models import ImageAsset
from patients.models import Patient
from tests.backups.inventory import inventory

# In the test's transaction: the backup reads it as its snapshot, the restore replaces its
# rows, and the rollback at the end leaves the database as the migrations made it.
pytestmark = pytest.mark.django_db


def backups_in(folder):
    return sorted(folder.glob(f"{PREFIX}*{SUFFIX}"))


def lose_everything(media_root):
    """The disaster: the database emptied, the stored files gone."""
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(media_root, ignore_errors=True)


def test_a_restore_brings_back_every_record_audit_entry_and_file(clinical_records, backup_key,
                                                                 tmp_path, media_in_tmp, capsys):
    before = inventory()
    assert len(before["files"]) == 4 and before["rows"]["sign-offs"] and before["rows"]["audit entries"]
    call_command("backup_data", to=str(tmp_path / "backups"))
    assert "Backed up 1 patients" in capsys.readouterr().out

    lose_everything(media_in_tmp)
    assert not Patient.objects.exists() and not default_storage.exists(clinical_records[0].image.file.name)

    call_command("restore_data", source=str(tmp_path / "backups"))
    assert inventory() == before
    out = capsys.readouterr().out
    assert "1 patients, 1 specimens, 3 images, 3 results, 1 sign-offs" in out
    assert "every checksum matches" in out


def test_backup_refuses_to_run_without_a_key(settings, patient, tmp_path):
    settings.BACKUP_KEY = ""
    with pytest.raises(CommandError, match="CELINSIGHT_BACKUP_KEY is not set.*Fernet.generate_key"):
        call_command("backup_data", to=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_backup_refuses_a_key_that_is_not_a_fernet_key(settings, tmp_path, db):
    settings.BACKUP_KEY = "correct horse battery staple"
    with pytest.raises(CommandError, match="not a Fernet key"):
        call_command("backup_data", to=str(tmp_path))


def test_the_backup_reveals_nothing_without_its_key(clinical_records, backup_key, settings, tmp_path):
    call_command("backup_data", to=str(tmp_path))
    [backup] = backups_in(tmp_path)
    data = backup.read_bytes()
    for secret in (b"MRN-1", b"Test Patient", b"\x89PNG", b"dr_assigned"):
        assert secret not in data

    settings.BACKUP_KEY = Fernet.generate_key().decode()
    with pytest.raises(CommandError, match="Nothing was restored.*another CELINSIGHT_BACKUP_KEY"):
        call_command("restore_data", source=str(backup), force=True)
    assert Patient.objects.count() == 1


def test_a_rotated_key_still_restores_older_backups(clinical_records, backup_key, settings,
                                                    tmp_path, media_in_tmp):
    call_command("backup_data", to=str(tmp_path))
    settings.BACKUP_KEY = f"{Fernet.generate_key().decode()},{backup_key}"
    lose_everything(media_in_tmp)
    call_command("restore_data", source=str(tmp_path))
    assert Patient.objects.get().mrn == "MRN-1"


def test_restore_refuses_a_database_that_holds_data_unless_forced(clinical_records, backup_key,
                                                                  tmp_path, lab_staff):
    before = inventory()
    call_command("backup_data", to=str(tmp_path))
    Patient.objects.create(mrn="MRN-LATER", full_name="Added Later", date_of_birth="1991-02-03",
                           created_by=lab_staff)
    with pytest.raises(CommandError, match="already holds data.*--force"):
        call_command("restore_data", source=str(tmp_path))
    assert Patient.objects.filter(mrn="MRN-LATER").exists()

    call_command("restore_data", source=str(tmp_path), force=True)
    assert inventory() == before


def test_restore_takes_the_newest_backup_in_a_folder(clinical_records, backup_key, tmp_path,
                                                     media_in_tmp):
    call_command("backup_data", to=str(tmp_path))
    SpecimenSignOff.objects.all().delete()
    call_command("backup_data", to=str(tmp_path))
    assert len(backups_in(tmp_path)) == 2
    lose_everything(media_in_tmp)
    call_command("restore_data", source=str(tmp_path))
    assert not SpecimenSignOff.objects.exists()


def test_a_file_missing_from_storage_is_reported(clinical_records, backup_key, tmp_path):
    lost = clinical_records[2].image.file.name
    default_storage.delete(lost)
    with pytest.raises(CommandError, match=f"1 files the records refer to are missing.*{lost}"):
        call_command("backup_data", to=str(tmp_path))
    assert len(backups_in(tmp_path)) == 1  # the rest is backed up all the same


def test_the_snapshot_does_not_see_rows_written_while_it_reads(tmp_path, django_db_blocker):
    # A database of its own, configured like the product's (WAL, IMMEDIATE transactions).
    other_database = {**connection.settings_dict, "NAME": str(tmp_path / "snapshot.sqlite3")}
    database = DatabaseWrapper(other_database, alias="snapshot-test")
    with django_db_blocker.unblock():
        with database.cursor() as cursor:
            cursor.execute("CREATE TABLE record (id integer)")
            cursor.execute("INSERT INTO record VALUES (1)")

        def count():
            with database.cursor() as cursor:
                return cursor.execute("SELECT count(*) FROM record").fetchone()[0]

        with consistent_snapshot(database):
            assert count() == 1
            # Another process (a worker, a web request) writes meanwhile, and is not held up.
            with sqlite3.connect(other_database["NAME"], timeout=1) as writer:
                writer.execute("INSERT INTO record VALUES (2)")
            assert count() == 1
        assert count() == 2
        database.close()


def test_a_backup_to_s3_restores_from_its_prefix(clinical_records, backup_key, settings, tmp_path,
                                                 media_in_tmp, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    settings.BACKUP_S3_ENDPOINT_URL, settings.BACKUP_S3_REGION = "", "eu-west-1"
    before = inventory()
    with moto.mock_aws():
        boto3.client("s3", region_name="eu-west-1").create_bucket(
            Bucket="lab-backups", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        call_command("backup_data", to="s3://lab-backups/nightly")
        lose_everything(media_in_tmp)
        call_command("restore_data", source="s3://lab-backups/nightly/")
    assert inventory() == before
    assert ImageAsset.objects.count() == 3
