"""The encrypted stream of a backup: any size through bounded memory, and no frame can be
dropped, reordered or cut off unnoticed."""
import io
import struct

import pytest
from cryptography.fernet import Fernet

from backups import encryption
from backups.encryption import DamagedBackup, DecryptingReader, EncryptingWriter, backup_cipher


@pytest.fixture
def small_frames(monkeypatch):
    monkeypatch.setattr(encryption, "FRAME_BYTES", 16)


@pytest.fixture
def cipher():
    return backup_cipher(Fernet.generate_key().decode())


def encrypt(cipher, data, writes=7):
    out = io.BytesIO()
    writer = EncryptingWriter(out, cipher)
    for start in range(0, len(data), writes):
        writer.write(data[start:start + writes])
    writer.close()
    return out.getvalue()


def frames(encrypted):
    """The frames of an encrypted stream, each with its length prefix."""
    body, found = encrypted[len(encryption.HEADER):], []
    while body:
        length = struct.unpack(">I", body[:4])[0]
        found.append(body[:4 + length])
        body = body[4 + length:]
    return found


def decrypt(cipher, encrypted, read_size=5):
    reader = DecryptingReader(io.BytesIO(encrypted), cipher)
    parts = []
    while chunk := reader.read(read_size):
        parts.append(chunk)
    return b"".join(parts)


DATA = bytes(range(256)) * 3


def test_what_is_written_reads_back_through_many_frames(small_frames, cipher):
    encrypted = encrypt(cipher, DATA)
    assert len(frames(encrypted)) == len(DATA) // 16  # the last frame holds the last 16 bytes
    assert decrypt(cipher, encrypted) == DATA
    assert DecryptingReader(io.BytesIO(encrypted), cipher).read() == DATA


def test_an_empty_stream_is_one_last_frame(cipher):
    assert decrypt(cipher, encrypt(cipher, b"")) == b""


def test_reordered_frames_are_refused(small_frames, cipher):
    parts = frames(encrypt(cipher, DATA))
    parts[1], parts[2] = parts[2], parts[1]
    with pytest.raises(DamagedBackup, match="out of order"):
        decrypt(cipher, encryption.HEADER + b"".join(parts))


def test_a_stream_cut_after_a_whole_frame_is_refused(small_frames, cipher):
    parts = frames(encrypt(cipher, DATA))
    with pytest.raises(DamagedBackup, match="cut short"):
        decrypt(cipher, encryption.HEADER + b"".join(parts[:-1]))


def test_data_after_the_last_frame_is_refused(cipher):
    with pytest.raises(DamagedBackup, match="after its end"):
        decrypt(cipher, encrypt(cipher, DATA) + b"extra")


def test_a_changed_byte_is_refused(cipher):
    encrypted = bytearray(encrypt(cipher, DATA))
    encrypted[len(encrypted) // 2] ^= 1
    with pytest.raises(DamagedBackup, match="changed"):
        decrypt(cipher, bytes(encrypted))


def test_a_file_that_is_not_a_backup_is_refused(cipher):
    with pytest.raises(DamagedBackup, match="not a CelInsight backup"):
        DecryptingReader(io.BytesIO(b"PK\x03\x04 a zip"), cipher)
