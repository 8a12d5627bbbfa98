"""Restore a backup (`manage.py restore_data`): every row and stored file as they were.

The archive is decrypted and every checksum verified before anything changes. The database
is migrated to this version's schema, which must be the backup's; a database that holds
data, or storage that holds other bytes under a backed-up name, is refused unless forced.
Rows are replaced in one transaction (all or nothing); files are written through the
storage API (local folder or S3) and read back to check their checksums.
"""
import hashlib
import tempfile

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction

from backups import snapshot
from backups.archive import read_archive
from backups.destinations import fetched_backup
from backups.encryption import backup_cipher
from patients.models import Patient


class RestoreRefused(Exception):
    """The restore would overwrite data, or cannot be done with this version; nothing changed."""


def restore_backup(source, force=False):
    """Restore the backup ``source`` names; returns (location, manifest)."""
    cipher = backup_cipher()
    with fetched_backup(source) as (path, location), tempfile.TemporaryDirectory() as workdir:
        with open(path, "rb") as archive:
            backup = read_archive(archive, cipher, workdir)
        call_command("migrate", interactive=False, verbosity=0)
        refuse_other_schema(backup.manifest)
        if not force:
            refuse_existing_data()
            refuse_other_files(backup.file_paths)
        with transaction.atomic(), disable_auditlog():
            call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
            call_command("loaddata", str(backup.database_path), verbosity=0)
            check_counts(backup.manifest)
            for name, path in backup.file_paths.items():
                restore_file(name, path)
        ContentType.objects.clear_cache()  # its ids are the backup's now
        check_stored_files(backup.manifest["files"])
    return location, backup.manifest


def refuse_other_schema(manifest):
    ours = set(snapshot.applied_migrations())
    theirs = set(manifest["migrations"])
    if ours != theirs:
        newer = sorted(theirs - ours)[:3]
        raise RestoreRefused(
            "This backup was made by another version of CelInsight (its database schema "
            f"differs: {', '.join(newer) or 'migrations it lacks'}). Restore it with the version "
            "that made it, then upgrade.")


def refuse_existing_data():
    users, patients = get_user_model().objects.count(), Patient.objects.count()
    if users or patients or LogEntry.objects.exists():
        raise RestoreRefused(
            f"The database already holds data ({users} users, {patients} patients): a restore "
            "replaces all of it. Restore into an empty database, or pass --force to replace it.")


def refuse_other_files(file_paths):
    clashes = [name for name, path in file_paths.items()
               if default_storage.exists(name) and stored_sha256(name) != sha256_of(path)]
    if clashes:
        raise RestoreRefused(
            f"Storage already holds other files under {len(clashes)} of the backup's names "
            f"(e.g. {clashes[0]}). Restore into an empty bucket or folder, or pass --force "
            "to overwrite them.")


def check_counts(manifest):
    counts = snapshot.model_counts()
    wrong = {label: (counts.get(label), number) for label, number in manifest["counts"].items()
             if counts.get(label) != number}
    if wrong:
        raise RestoreRefused(f"Rows restored differ from the backup's counts: {wrong}.")


def restore_file(name, path):
    if default_storage.exists(name):
        if stored_sha256(name) == sha256_of(path):
            return
        default_storage.delete(name)  # only reached with --force (refuse_other_files)
    with open(path, "rb") as content:
        saved = default_storage.save(name, File(content, name=name))
    if saved != name:
        raise RestoreRefused(f"Storage saved {name} as {saved}; the records would not find it.")


def check_stored_files(files):
    differ = [name for name, facts in files.items() if stored_sha256(name) != facts["sha256"]]
    if differ:
        raise RestoreRefused(f"{len(differ)} restored files read back differently from storage "
                             f"(e.g. {differ[0]}). The rows were restored; run the restore again.")


def sha256_of(path):
    with open(path, "rb") as content:
        return sha256_of_stream(content)


def stored_sha256(name):
    with default_storage.open(name, "rb") as content:
        return sha256_of_stream(content)


def sha256_of_stream(content):
    digest = hashlib.sha256()
    while chunk := content.read(1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()
