"""A damaged backup, or one that disagrees with this version, is refused before anything in
the database or storage changes."""
import io
import tarfile

import pytest
from django.core.management import CommandError, call_command

from backups.destinations import PREFIX, SUFFIX
from backups.encryption import DecryptingReader, EncryptingWriter, backup_cipher
from backups.restore import RestoreRefused, refuse_other_schema
from backups.snapshot import applied_migrations
from patients.models import Patient

# In the test's transaction: the backup reads it as its snapshot, the restore replaces its
# rows, and the rollback at the end leaves the database as the migrations made it.
pytestmark = pytest.mark.django_db


@pytest.fixture
def backup_file(clinical_records, backup_key, tmp_path):
    call_command("backup_data", to=str(tmp_path))
    [path] = tmp_path.glob(f"{PREFIX}*{SUFFIX}")
    return path


def rewrite(path, change):
    """Decrypt the backup, pass each (name, bytes) member through ``change`` (None drops it),
    re-encrypt it with the same key: what a bug or a bad disk would give, validly encrypted."""
    cipher = backup_cipher()
    with path.open("rb") as source, tarfile.open(fileobj=DecryptingReader(source, cipher), mode="r|") as tar:
        members = [(member.name, tar.extractfile(member).read()) for member in tar]
    out = io.BytesIO()
    writer = EncryptingWriter(out, cipher)
    with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            data = change(name, data)
            if data is None:
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    writer.close()
    path.write_bytes(out.getvalue())


def test_a_file_whose_checksum_differs_is_refused(backup_file, clinical_records):
    changed = f"files/{clinical_records[0].heatmap.name}"
    rewrite(backup_file, lambda name, data: data[:-1] + b"!" if name == changed else data)
    call_command("flush", interactive=False, verbosity=0)
    with pytest.raises(CommandError, match="does not match its manifest.*checksum differs.*heatmap"):
        call_command("restore_data", source=str(backup_file), force=True)
    assert not Patient.objects.exists()  # nothing was restored


def test_a_file_missing_from_the_archive_is_refused(backup_file, clinical_records):
    dropped = clinical_records[1].image.file.name
    rewrite(backup_file, lambda name, data: None if name == f"files/{dropped}" else data)
    with pytest.raises(CommandError, match=f"missing: files/{dropped}"):
        call_command("restore_data", source=str(backup_file), force=True)


def test_a_truncated_backup_is_refused(backup_file):
    data = backup_file.read_bytes()
    backup_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(CommandError, match="Nothing was restored"):
        call_command("restore_data", source=str(backup_file), force=True)
    assert Patient.objects.count() == 1


def test_a_backup_of_another_schema_is_refused(db):
    manifest = {"migrations": applied_migrations() + ["patients.9999_from_the_future"]}
    with pytest.raises(RestoreRefused, match="another version of CelInsight.*9999_from_the_future"):
        refuse_other_schema(manifest)


def test_no_backup_in_the_folder_is_said_plainly(tmp_path, backup_key):
    with pytest.raises(CommandError, match="No backup .* in the folder"):
        call_command("restore_data", source=str(tmp_path))
