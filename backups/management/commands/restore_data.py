from django.core.management.base import BaseCommand, CommandError

from accounts.security_log import log_security_event
from backups.destinations import NoBackupFound
from backups.encryption import BackupKeyError, DamagedBackup
from backups.management.commands.backup_data import summary
from backups.restore import RestoreRefused, restore_backup


class Command(BaseCommand):
    help = ("Restore a backup made by backup_data into this database and storage: every row "
            "and file, checksums verified. Refuses a database that holds data unless --force.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--from", dest="source", required=True,
            help="A backup file or s3://bucket/key, or a folder or s3://bucket/prefix/ (the "
                 "newest backup in it).")
        parser.add_argument(
            "--force", action="store_true",
            help="Replace whatever the database and storage hold (everything is replaced).")

    def handle(self, source, force, **options):
        try:
            location, manifest = restore_backup(source, force=force)
        except (BackupKeyError, DamagedBackup, NoBackupFound) as problem:
            raise CommandError(f"Nothing was restored: {problem}") from None
        except RestoreRefused as problem:  # its message says what did or did not change
            raise CommandError(str(problem)) from None
        log_security_event("backup_restored", None, location=location,
                           made_at=manifest["created_at"], files=len(manifest["files"]))
        self.stdout.write(
            f"Restored {location} (made {manifest['created_at']}): {summary(manifest['counts'])} "
            f"and {len(manifest['files'])} stored files; every checksum matches.")
        if manifest["missing_files"]:
            self.stderr.write(f"{len(manifest['missing_files'])} files were already missing when "
                              f"the backup was made: {', '.join(manifest['missing_files'][:10])}")
