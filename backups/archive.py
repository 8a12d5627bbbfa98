"""The backup archive: one tar stream, encrypted as it is written (backups/encryption.py).

    database.jsonl     every row (backups/snapshot.py), JSON lines with primary keys
    files/<name>       every stored file a row refers to, under its storage name
    manifest.json      when, the schema (applied migrations), rows per model, and the
                       sha256 and size of the database dump and of every file

All of it is read inside one database snapshot, so rows and files belong to one moment.
"""
import hashlib
import io
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from backups import snapshot
from backups.encryption import DamagedBackup, DecryptingReader, EncryptingWriter

ARCHIVE_FORMAT = 1
DATABASE_MEMBER = "database.jsonl"
MANIFEST_MEMBER = "manifest.json"
FILES_PREFIX = "files/"


class HashingReader:
    """Reads through a file object, counting and hashing what passes."""

    def __init__(self, source):
        self.source, self.sha256, self.size = source, hashlib.sha256(), 0

    def read(self, size=-1):
        data = self.source.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def add_member(tar, name, source, size):
    """Add ``size`` bytes of ``source`` as ``name``; their {"sha256", "size"}."""
    reader = HashingReader(source)
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(timezone.now().timestamp()), 0o600
    tar.addfile(info, reader)
    return {"sha256": reader.sha256.hexdigest(), "size": reader.size}


def write_archive(out, cipher):
    """Write an encrypted backup of the database and its files to ``out``; its manifest."""
    writer = EncryptingWriter(out, cipher)
    with tempfile.TemporaryDirectory() as workdir, snapshot.consistent_snapshot():
        dump = Path(workdir) / f"database.{snapshot.FORMAT}"
        snapshot.dump_database(dump)
        manifest = {
            "format": ARCHIVE_FORMAT, "created_at": timezone.now().isoformat(),
            "database_vendor": connection.vendor, "migrations": snapshot.applied_migrations(),
            "counts": snapshot.model_counts(), "files": {}, "missing_files": [],
        }
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            with dump.open("rb") as source:
                manifest["database"] = add_member(tar, DATABASE_MEMBER, source, dump.stat().st_size)
            for name in snapshot.referenced_files():
                try:
                    size = default_storage.size(name)
                    with default_storage.open(name, "rb") as stored:
                        manifest["files"][name] = add_member(tar, FILES_PREFIX + name, stored, size)
                except FileNotFoundError:
                    manifest["missing_files"].append(name)
            data = json.dumps(manifest, indent=1, sort_keys=True).encode()
            add_member(tar, MANIFEST_MEMBER, io.BytesIO(data), len(data))
    writer.close()
    return manifest


class UnpackedBackup:
    """An archive unpacked into a folder and checked against its manifest."""

    def __init__(self, manifest, database_path, file_paths):
        self.manifest = manifest
        self.database_path = database_path
        self.file_paths = file_paths  # storage name -> path of its bytes in the folder


def read_archive(source, cipher, workdir):
    """Decrypt and unpack ``source`` into ``workdir``; DamagedBackup unless every checksum
    matches the manifest. Names in the archive are never used as paths here."""
    workdir = Path(workdir)
    received, manifest = {}, None
    with tarfile.open(fileobj=DecryptingReader(source, cipher), mode="r|") as tar:
        for number, member in enumerate(tar):
            if not member.isfile():
                raise DamagedBackup(f"The backup holds an unexpected entry {member.name!r}.")
            content = tar.extractfile(member)
            if member.name == MANIFEST_MEMBER:
                manifest = json.load(content)
                continue
            if member.name != DATABASE_MEMBER and not member.name.startswith(FILES_PREFIX):
                raise DamagedBackup(f"The backup holds an unexpected entry {member.name!r}.")
            path = workdir / (f"database.{snapshot.FORMAT}" if member.name == DATABASE_MEMBER
                              else f"file-{number}")
            with path.open("wb") as copy:
                reader = HashingReader(content)
                shutil.copyfileobj(reader, copy)
            received[member.name] = (path, {"sha256": reader.sha256.hexdigest(), "size": reader.size})
    if manifest is None or manifest.get("format") != ARCHIVE_FORMAT:
        raise DamagedBackup("The backup has no manifest this version can read.")
    check_against_manifest(manifest, received)
    files = {name[len(FILES_PREFIX):]: path for name, (path, _) in received.items()
             if name.startswith(FILES_PREFIX)}
    return UnpackedBackup(manifest, received[DATABASE_MEMBER][0], files)


def check_against_manifest(manifest, received):
    expected = {DATABASE_MEMBER: manifest["database"]}
    expected.update({FILES_PREFIX + name: facts for name, facts in manifest["files"].items()})
    missing = sorted(set(expected) - set(received))
    extra = sorted(set(received) - set(expected))
    changed = sorted(name for name in set(expected) & set(received)
                     if received[name][1] != expected[name])
    if missing or extra or changed:
        problems = [f"{label}: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}"
                    for label, names in (("missing", missing), ("not in the manifest", extra),
                                         ("checksum differs", changed)) if names]
        raise DamagedBackup("The backup does not match its manifest (" + "; ".join(problems) + ").")
