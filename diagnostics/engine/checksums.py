"""The sha256 of a model's files, recorded at saving and checked at loading."""

import hashlib

from .metadata import METADATA_FILE


def file_sha256(path):
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path, expected):
    """Raise unless the file at ``path`` exists and has the sha256 ``expected``."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the model folder. Restore or re-train "
                                f"the model.")
    if file_sha256(path) != expected:
        raise ValueError(f"{path} does not match the sha256 in {METADATA_FILE}: the model "
                         f"files are corrupt or mixed up. Restore or re-train the model.")
