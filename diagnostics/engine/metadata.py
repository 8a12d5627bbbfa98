"""A saved model folder's ``metadata.json``: its one reader and its one writer.

Neither torch nor Django is imported here: the web process reads which version a model folder
holds through this module without loading the engine's libraries.
"""

import json
from pathlib import Path

METADATA_FILE = "metadata.json"


def read_metadata(directory):
    """The parsed ``metadata.json`` of the model folder ``directory`` (a new dict each call).

    Raises FileNotFoundError saying how to get a model when the folder has none.
    """
    path = Path(directory) / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"No {METADATA_FILE} in {directory}; is it a trained model "
                                f"folder? Train one with `manage.py train_classifier`.")
    return json.loads(path.read_text(encoding="utf-8"))


def write_metadata(directory, metadata):
    """Write ``metadata`` as the ``metadata.json`` of ``directory``; numpy numbers and
    arrays are stored as JSON numbers and lists. Returns the file's Path."""
    path = Path(directory) / METADATA_FILE
    text = json.dumps(metadata, indent=2, sort_keys=False, default=_json_default)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _json_default(value):
    # numpy scalars and arrays, without importing numpy here.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Cannot store {type(value).__name__} in {METADATA_FILE}")
