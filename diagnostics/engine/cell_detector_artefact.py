"""A trained nucleus detector as a folder: ``detector.json`` (parameters and learned state)
and ``metadata.json`` (name, version, method, scale, validation, sha256 of every file).

    save_detector(detector, "diagnostics/trained_models/detector", {"version": "v1"})
    detector = load_detector("diagnostics/trained_models/detector")

Loading refuses a file whose sha256 does not match, as the classifier loader does.
"""

import json
from datetime import datetime, timezone
from pathlib import Path

from . import cell_detector_context  # noqa: F401  registers the two-stage design in DETECTORS
from .cell_detector import DETECTORS, WORK_DOWNSAMPLE
from .checksums import check_sha256, file_sha256
from .metadata import read_metadata, write_metadata

STATE_FILE = "detector.json"
DETECTOR_ARTEFACT_FORMAT = 1
# The scale the detector was fitted at: in CRIC's 1280 x 960 fields the detection matching a
# marked nucleus is 23 px across (median; quartiles 11 and 32; 355 marks of 16 fields).
CRIC_NUCLEUS_DIAMETER_PX = 23


def save_detector(detector, directory, metadata=None):
    """Write a fitted detector into ``directory``; returns its Path.

    ``metadata`` (version, validation figures...) is stored with the fields needed to rebuild
    the detector, which take precedence. The detector's ``metadata_`` becomes what was written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {STATE_FILE: detector.to_dict()}
    files.update(detector.save_files(directory) if hasattr(detector, "save_files") else {})
    (directory / STATE_FILE).write_text(json.dumps(files.pop(STATE_FILE), indent=1) + "\n",
                                        encoding="utf-8")
    names = [STATE_FILE, *files]
    detector.metadata_ = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(metadata or {}),
        "artefact_format": DETECTOR_ARTEFACT_FORMAT,
        "name": detector.registry_name,
        "method": type(detector).__doc__.strip().splitlines()[0],
        "parameters": detector.get_params(),
        "scale": {"nucleus_diameter_px": CRIC_NUCLEUS_DIAMETER_PX,
                  "work_downsample": WORK_DOWNSAMPLE,
                  "meaning": "detect(image, scale=s) expects nuclei s times this size"},
        "files": [{"file": name, "sha256": file_sha256(directory / name)} for name in names],
    }
    write_metadata(directory, detector.metadata_)
    return directory


def load_detector(directory):
    """Load a detector saved with :func:`save_detector`, checking every file's sha256."""
    directory = Path(directory)
    metadata = read_metadata(directory)
    if "files" not in metadata or "name" not in metadata:
        raise ValueError(f"{directory} is not a detector folder (its metadata.json names no "
                         f"detector); train one with `manage.py train_detector`.")
    for record in metadata["files"]:
        check_sha256(directory / record["file"], record["sha256"])
    state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    detector = DETECTORS[metadata["name"]].from_dict(state, directory)
    detector.metadata_ = metadata
    return detector
