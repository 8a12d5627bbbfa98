"""manage.py detect_cells: one CSV row per detected nucleus, any common image format, and a
broken file reported by name while the others are written."""

import csv
import io

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from diagnostics.engine.cell_detector import DETECTORS, find_candidates
from diagnostics.engine.cell_detector_artefact import save_detector
from diagnostics.engine.cell_detector_training import fit_detector

NUCLEI = [(100, 90), (260, 110), (180, 220)]


def field(nuclei=NUCLEI, width=360, height=300):
    """A bright field with cells: a pale cytoplasm disc around a dark nucleus each."""
    rows, columns = np.mgrid[:height, :width]
    pixels = np.full((height, width), 235, np.uint8)
    for x, y in nuclei:
        pixels[np.hypot(columns - x, rows - y) < 50] = 175
    for x, y in nuclei:
        pixels[np.hypot(columns - x, rows - y) < 12] = 70
    return Image.fromarray(np.stack([pixels, pixels, pixels], axis=-1))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    images = [field([(x + shift, y + shift) for x, y in NUCLEI]) for shift in (0, 15, 30)]
    marks = [np.asarray(NUCLEI, float) + shift for shift in (0, 15, 30)]
    detector = fit_detector(DETECTORS.create("log-logistic"),
                            [find_candidates(image) for image in images], marks)
    detector.threshold_ = 0.5  # separable synthetic data: see tests/engine/test_cell_detector
    return save_detector(detector, tmp_path_factory.mktemp("detector"), {"version": "tiny"})


def detect(paths, out, model_dir):
    stdout = io.StringIO()
    call_command("detect_cells", *map(str, paths), out=out, model=model_dir, stdout=stdout)
    return stdout.getvalue()


def read_rows(out):
    with open(out, newline="") as stream:
        return list(csv.DictReader(stream))


def test_it_writes_one_row_per_cell_with_base_names(model_dir, tmp_path):
    field().save(tmp_path / "field.png")
    printed = detect([tmp_path / "field.png"], tmp_path / "cells.csv", model_dir)
    rows = read_rows(tmp_path / "cells.csv")
    assert list(rows[0]) == ["image", "x", "y", "score"]
    assert {row["image"] for row in rows} == {"field.png"}
    found = [(float(row["x"]), float(row["y"])) for row in rows]
    for x, y in NUCLEI:
        assert min(np.hypot(fx - x, fy - y) for fx, fy in found) < 10
    assert all(0 <= float(row["score"]) <= 1 for row in rows)
    assert "field.png: " in printed and " s" in printed


def test_it_reads_grayscale_tiff_bmp_and_jpeg(model_dir, tmp_path):
    gray = field().convert("L")
    paths = [tmp_path / "gray.tif", tmp_path / "gray.bmp", tmp_path / "colour.jpg"]
    gray.save(paths[0]), gray.save(paths[1]), field().save(paths[2], quality=90)
    detect(paths, tmp_path / "cells.csv", model_dir)
    rows = read_rows(tmp_path / "cells.csv")
    counts = {path.name: sum(row["image"] == path.name for row in rows) for path in paths}
    assert all(count >= len(NUCLEI) for count in counts.values()), counts


def test_a_broken_file_is_reported_by_name_and_the_others_written(model_dir, tmp_path):
    field().save(tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    stderr = io.StringIO()
    with pytest.raises(CommandError, match="broken.png"):
        call_command("detect_cells", str(tmp_path / "broken.png"), str(tmp_path / "good.png"),
                     out=tmp_path / "cells.csv", model=model_dir, stdout=io.StringIO(),
                     stderr=stderr)
    assert "broken.png" in stderr.getvalue()
    assert {row["image"] for row in read_rows(tmp_path / "cells.csv")} == {"good.png"}


def test_it_says_when_the_detector_folder_is_missing(tmp_path):
    field().save(tmp_path / "field.png")
    with pytest.raises(CommandError, match="Cannot load the detector"):
        call_command("detect_cells", str(tmp_path / "field.png"), out=tmp_path / "cells.csv",
                     model=tmp_path / "nowhere", stdout=io.StringIO())
