"""Back up PostgreSQL and the S3 bucket, restore into a fresh PostgreSQL database and a fresh
bucket (a process of its own, as after a disaster), and find every patient, result,
sign-off, audit entry and file again."""
import json
import os
import subprocess
import sys

import boto3
import psycopg2
import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tests.backups.inventory import inventory
from tests.backups.records import make_clinical_records
from tests.integration.conftest import ROOT

pytestmark = [pytest.mark.integration,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

INVENTORY = ("import django, json; django.setup(); "
             "from tests.backups.inventory import inventory; print(json.dumps(inventory()))")


def s3_client():
    options = settings.STORAGES["default"]["OPTIONS"]
    return boto3.client("s3", endpoint_url=options["endpoint_url"], region_name=options["region_name"])


def create_bucket(name):
    s3_client().create_bucket(Bucket=name, CreateBucketConfiguration={
        "LocationConstraint": settings.STORAGES["default"]["OPTIONS"]["region_name"]})
    return name


def server_connection():
    database = connection.settings_dict
    server = psycopg2.connect(dbname="postgres", user=database["USER"], password=database["PASSWORD"],
                              host=database["HOST"], port=database["PORT"])
    server.autocommit = True
    return server


@pytest.fixture
def fresh_database():
    """An empty database on the same PostgreSQL server: its DATABASE_URL."""
    name = f"celinsight_restored_{os.getpid()}"
    server = server_connection()
    with server.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    yield f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT']}/{name}"
    with server.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    server.close()


def run_restored(env, *command):
    completed = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=300)
    return completed


def test_a_backup_restores_into_a_fresh_database_and_bucket(
        real_services, settings, tmp_path, fresh_database, specimen, lab_staff, doctor, sample_upload):
    assert connection.vendor == "postgresql"
    make_clinical_records(specimen, lab_staff, doctor, sample_upload(3))
    settings.BACKUP_KEY = Fernet.generate_key().decode()
    backups = create_bucket(f"celinsight-backups-{os.getpid()}")
    call_command("backup_data", to=f"s3://{backups}/nightly")
    before = json.loads(json.dumps(inventory()))
    assert len(before["files"]) == 4 and before["rows"]["sign-offs"] and before["rows"]["audit entries"]

    env = {**os.environ, "DATABASE_URL": fresh_database,
           "CELINSIGHT_S3_BUCKET": create_bucket(f"celinsight-restored-{os.getpid()}"),
           "CELINSIGHT_BACKUP_KEY": settings.BACKUP_KEY, "CELINSIGHT_VAR_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "celinsight.settings"}
    restored = run_restored(env, "manage.py", "restore_data", "--from", f"s3://{backups}/nightly/")
    assert restored.returncode == 0, restored.stderr[-3000:]
    assert "1 patients, 1 specimens, 3 images, 3 results, 1 sign-offs" in restored.stdout

    listed = run_restored(env, "-c", INVENTORY)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert json.loads(listed.stdout.strip().splitlines()[-1]) == before

    again = run_restored(env, "manage.py", "restore_data", "--from", f"s3://{backups}/nightly/")
    assert again.returncode != 0 and "already holds data" in again.stderr
