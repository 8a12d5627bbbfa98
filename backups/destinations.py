"""Where backups go and come from: a folder, or an S3 bucket (`s3://bucket/prefix`).

Backups are named `celinsight-backup-<UTC time>.tar.enc`, so the newest sorts last. S3 uses
CELINSIGHT_BACKUP_S3_ENDPOINT_URL / _REGION (by default the image storage's endpoint and
region) and CELINSIGHT_BACKUP_S3_ACCESS_KEY_ID / _SECRET_ACCESS_KEY (by default the standard
AWS credentials), so backups can go to another account than the images.
"""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.utils import timezone

PREFIX, SUFFIX = "celinsight-backup-", ".tar.enc"


class NoBackupFound(Exception):
    pass


def new_backup_name():
    return f"{PREFIX}{timezone.now():%Y%m%dT%H%M%S%fZ}{SUFFIX}"


def split_s3(url):
    bucket, _, key = url[len("s3://"):].partition("/")
    return bucket, key


def s3_client():
    import boto3

    return boto3.client(
        "s3", endpoint_url=settings.BACKUP_S3_ENDPOINT_URL or None,
        region_name=settings.BACKUP_S3_REGION or None,
        # Unset: the standard chain (AWS_ACCESS_KEY_ID..., an instance role), as for images.
        aws_access_key_id=settings.BACKUP_S3_ACCESS_KEY_ID or None,
        aws_secret_access_key=settings.BACKUP_S3_SECRET_ACCESS_KEY or None,
    )


@contextmanager
def new_backup_file(destination):
    """Yield (binary file to write, location); the file appears at the destination only
    once the block ends without error (never a half-written backup under the final name)."""
    name = new_backup_name()
    if destination.startswith("s3://"):
        bucket, prefix = split_s3(destination)
        key = f"{prefix.rstrip('/')}/{name}" if prefix.strip("/") else name
        with tempfile.TemporaryFile() as spool:
            yield spool, f"s3://{bucket}/{key}"
            spool.seek(0)
            s3_client().upload_fileobj(spool, bucket, key)
        return
    folder = Path(destination)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.partial"
    try:
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            yield out, str(folder / name)
            out.flush()
            os.fsync(out.fileno())
        partial.rename(folder / name)
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def fetched_backup(source):
    """Yield (local path, location) of the backup ``source`` names: a file, or the newest
    backup in a folder; `s3://bucket/key`, or the newest under `s3://bucket/prefix/`."""
    if not source.startswith("s3://"):
        path = Path(source)
        if path.is_dir():
            backups = sorted(path.glob(f"{PREFIX}*{SUFFIX}"))
            if not backups:
                raise NoBackupFound(f"No backup ({PREFIX}…{SUFFIX}) in the folder {path}.")
            path = backups[-1]
        if not path.is_file():
            raise NoBackupFound(f"No backup file at {path}.")
        yield path, str(path)
        return
    bucket, key = split_s3(source)
    client = s3_client()
    if not key.endswith(SUFFIX):
        key = newest_key(client, bucket, key)
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "backup.tar.enc"
        client.download_file(bucket, key, str(path))
        yield path, f"s3://{bucket}/{key}"


def newest_key(client, bucket, prefix):
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])
                 if item["Key"].rsplit("/", 1)[-1].startswith(PREFIX) and item["Key"].endswith(SUFFIX)]
    if not keys:
        raise NoBackupFound(f"No backup ({PREFIX}…{SUFFIX}) under s3://{bucket}/{prefix}.")
    return max(keys, key=lambda key: key.rsplit("/", 1)[-1])

