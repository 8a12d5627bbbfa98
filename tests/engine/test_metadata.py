import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from diagnostics.engine.metadata import read_metadata, write_metadata

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_written_metadata_reads_back_with_numpy_values_as_json(tmp_path):
    write_metadata(tmp_path, {"version": "v-1", "accuracy": np.float32(0.5),
                              "counts": np.array([1, 2])})
    assert read_metadata(tmp_path) == {"version": "v-1", "accuracy": 0.5, "counts": [1, 2]}


def test_a_folder_without_metadata_says_how_to_get_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_classifier"):
        read_metadata(tmp_path)


def test_reading_metadata_imports_neither_torch_nor_django():
    # The web process reads model versions through this module and must stay light.
    code = ("import sys; from diagnostics.engine.metadata import read_metadata; "
            "read_metadata('diagnostics/trained_models/default'); "
            "print(sorted(m for m in ('torch', 'lightgbm', 'django') if m in sys.modules))")
    printed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True,
                             capture_output=True, text=True).stdout
    assert printed.strip() == "[]"
