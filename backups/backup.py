"""Make a backup: the database and its stored files at one point in time, encrypted, to a
folder or an S3 bucket (`manage.py backup_data`)."""
from dataclasses import dataclass

from backups.archive import write_archive
from backups.destinations import new_backup_file
from backups.encryption import backup_cipher


@dataclass
class BackupReport:
    location: str
    manifest: dict

    @property
    def file_bytes(self):
        return sum(facts["size"] for facts in self.manifest["files"].values())


def make_backup(destination):
    """Write a new backup to ``destination`` (a folder, or s3://bucket/prefix)."""
    cipher = backup_cipher()  # refuses before anything is read without a usable key
    with new_backup_file(destination) as (out, location):
        manifest = write_archive(out, cipher)
    return BackupReport(location, manifest)
