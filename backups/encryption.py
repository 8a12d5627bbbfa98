"""The encrypted stream of a backup archive: a header, then frames, each one Fernet token
(AES-128-CBC and HMAC-SHA256, from `cryptography`) over at most 1 MiB of the archive.

Fernet encrypts a message whole, in memory; framing lets a backup of any size stream
through with bounded memory. Each frame's plaintext starts with its index and a flag for
the last frame, inside the authenticated token, so frames cannot be dropped, reordered or
cut off at the end without the reader noticing.

Key: CELINSIGHT_BACKUP_KEY, a Fernet key, or several comma-separated (the first encrypts,
any of them decrypts: rotating keeps old backups readable).
"""
import base64
import struct

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

HEADER = b"CELINSIGHT-BACKUP 1\n"
FRAME_BYTES = 1024 * 1024
_FRAME_PREFIX = struct.Struct(">QB")  # frame index, 1 for the last frame
_LENGTH = struct.Struct(">I")

GENERATE_KEY = ("python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'")


class BackupKeyError(Exception):
    """No usable key in CELINSIGHT_BACKUP_KEY; the message says how to make one."""


class DamagedBackup(Exception):
    """The archive is not a backup, was made with another key, or was changed or cut short."""


def backup_cipher(keys=None):
    """MultiFernet over the configured keys; BackupKeyError if there are none or one is bad."""
    keys = [key.strip() for key in (keys if keys is not None else settings.BACKUP_KEY).split(",")
            if key.strip()]
    if not keys:
        raise BackupKeyError(
            "CELINSIGHT_BACKUP_KEY is not set: backups are encrypted and need a key. Generate "
            f"one with {GENERATE_KEY}, set it in the environment, and keep a copy apart from "
            "the backups: without it no backup can be restored.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise BackupKeyError(
            "CELINSIGHT_BACKUP_KEY is not a Fernet key (32 url-safe base64-encoded bytes). "
            f"Generate one with {GENERATE_KEY}.") from None


class EncryptingWriter:
    """A write-only file object: bytes written go out encrypted, in frames, to ``out``."""

    def __init__(self, out, cipher):
        self.out, self.cipher = out, cipher
        self.buffer = bytearray()
        self.index = 0
        out.write(HEADER)

    def write(self, data):
        self.buffer += data
        while len(self.buffer) > FRAME_BYTES:
            self._emit(bytes(self.buffer[:FRAME_BYTES]), last=False)
            del self.buffer[:FRAME_BYTES]
        return len(data)

    def close(self):
        """Write the last frame (possibly empty); call once, at the end."""
        self._emit(bytes(self.buffer), last=True)
        self.buffer.clear()

    def _emit(self, chunk, last):
        token = self.cipher.encrypt(_FRAME_PREFIX.pack(self.index, int(last)) + chunk)
        raw = base64.urlsafe_b64decode(token)  # stored raw: a quarter smaller than the text
        self.out.write(_LENGTH.pack(len(raw)) + raw)
        self.index += 1


class DecryptingReader:
    """A read-only file object over an encrypted stream; DamagedBackup on any tampering."""

    def __init__(self, source, cipher):
        self.source, self.cipher = source, cipher
        if source.read(len(HEADER)) != HEADER:
            raise DamagedBackup("This file is not a CelInsight backup (its header is wrong).")
        self.buffer = bytearray()
        self.index = 0
        self.finished = False

    def read(self, size=-1):
        while not self.finished and (size < 0 or len(self.buffer) < size):
            self._next_frame()
        if size < 0:
            size = len(self.buffer)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def _next_frame(self):
        length = self.source.read(_LENGTH.size)
        if len(length) < _LENGTH.size:
            raise DamagedBackup("The backup is cut short: its last part is missing.")
        raw = self.source.read(_LENGTH.unpack(length)[0])
        try:
            plain = self.cipher.decrypt(base64.urlsafe_b64encode(raw))
        except InvalidToken:
            raise DamagedBackup(
                "The backup cannot be decrypted: it was made with another CELINSIGHT_BACKUP_KEY, "
                "or it was changed.") from None
        index, last = _FRAME_PREFIX.unpack_from(plain)
        if index != self.index:
            raise DamagedBackup("The backup's parts are out of order or some are missing.")
        self.buffer += plain[_FRAME_PREFIX.size:]
        self.index += 1
        if last:
            self.finished = True
            if self.source.read(1):
                raise DamagedBackup("The backup has data after its end.")
