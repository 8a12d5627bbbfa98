"""Upload to S3, classify on a Redis-brokered worker, store the result in PostgreSQL."""
import time
from pathlib import Path

import boto3
import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection

from diagnostics.models import CellResult
from diagnostics.triage import triage_score
from imaging.models import Specimen
from imaging.uploads import store_upload

pytestmark = [pytest.mark.integration,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def s3_client():
    return boto3.client("s3", endpoint_url=settings.STORAGES["default"]["OPTIONS"]["endpoint_url"],
                        region_name=settings.STORAGES["default"]["OPTIONS"]["region_name"])


def object_key(stored_file):
    return f"{default_storage.location}/{stored_file.name}"


def test_an_upload_is_stored_encrypted_in_s3_and_classified_by_a_redis_worker_into_postgres(
    real_services, worker_env, start_worker, specimen, lab_staff, sample_upload
):
    assert connection.vendor == "postgresql"
    bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]

    batch = store_upload(specimen, lab_staff, sample_upload(3))
    assert batch.stored_count == 3

    for result in CellResult.objects.select_related("image"):
        head = s3_client().head_object(Bucket=bucket, Key=object_key(result.image.file))
        assert head["ServerSideEncryption"] == "AES256"
        assert head["ContentLength"] == result.image.size_bytes

    worker = start_worker(worker_env, "redis-worker")
    deadline = time.monotonic() + 180
    while CellResult.objects.filter(status="done").count() < 3:
        assert time.monotonic() < deadline, Path(worker.log_path).read_text()[-3000:]
        assert worker.poll() is None, Path(worker.log_path).read_text()[-3000:]
        time.sleep(0.2)
    assert CellResult.objects.exclude(predicted_class="").count() == 3

    # The triage score is computed by PostgreSQL from the stored JSON (after saving a batch).
    expected = triage_score(CellResult.objects.values_list("probabilities", flat=True))
    while Specimen.objects.get(pk=specimen.pk).triage_score != pytest.approx(expected):
        assert time.monotonic() < deadline, Path(worker.log_path).read_text()[-3000:]
        time.sleep(0.2)


def test_the_encryption_flag_is_the_uploads_own_not_the_servers_default(real_services):
    """The check above means something only if the S3 API does not encrypt by default."""
    bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
    s3_client().put_object(Bucket=bucket, Key="control/plain.txt", Body=b"plain")
    head = s3_client().head_object(Bucket=bucket, Key="control/plain.txt")
    assert "ServerSideEncryption" not in head


def test_api_throttle_counts_live_in_redis_where_every_web_process_sees_them(real_services,
                                                                             client):
    cache.clear()
    for _ in range(3):
        client.post("/api/auth/token/", {"username": "nobody", "password": "wrong"})
    server = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    keys = [key.decode() for key in server.keys("celinsight:*throttle_login_*")]
    assert len(keys) == 1
    assert len(cache.get(keys[0].split(":", 2)[2])) == 3
