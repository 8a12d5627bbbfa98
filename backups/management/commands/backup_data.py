from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.security_log import log_security_event
from backups.backup import make_backup
from backups.encryption import BackupKeyError

SUMMARY = [("patients.patient", "patients"), ("imaging.specimen", "specimens"),
           ("imaging.imageasset", "images"), ("diagnostics.cellresult", "results"),
           ("diagnostics.specimensignoff", "sign-offs"), ("auditlog.logentry", "audit entries"),
           ("auth.user", "users")]


def summary(counts):
    return ", ".join(f"{counts.get(label, 0)} {name}" for label, name in SUMMARY)


class Command(BaseCommand):
    help = ("Back up the database and every stored file it refers to, at one point in time, "
            "encrypted with CELINSIGHT_BACKUP_KEY, to a folder or s3://bucket/prefix.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--to", dest="destination", default=settings.BACKUP_DESTINATION,
            help="A folder, or s3://bucket/prefix (default: CELINSIGHT_BACKUP_DESTINATION).")

    def handle(self, destination, **options):
        if not destination:
            raise CommandError("Say where the backup goes: --to FOLDER or --to s3://bucket/prefix "
                               "(or set CELINSIGHT_BACKUP_DESTINATION).")
        try:
            report = make_backup(destination)
        except BackupKeyError as problem:
            raise CommandError(str(problem)) from None
        manifest = report.manifest
        log_security_event("backup_made", None, location=report.location,
                           files=len(manifest["files"]), missing_files=len(manifest["missing_files"]))
        self.stdout.write(
            f"Backed up {summary(manifest['counts'])} and {len(manifest['files'])} stored files "
            f"({report.file_bytes / 1e6:.1f} MB) to {report.location}")
        if manifest["missing_files"]:
            missing = manifest["missing_files"]
            raise CommandError(
                f"The backup was written, but {len(missing)} files the records refer to are "
                f"missing from storage and are not in it: {', '.join(missing[:10])}"
                f"{' …' if len(missing) > 10 else ''}")
