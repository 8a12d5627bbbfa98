"""Whole-slide scanning: a small pyramidal TIFF made of two CRIC fields on glass, scanned
with the shipped detector. Skipped when ../shared (the CRIC fields) is absent."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.spatial import cKDTree

from diagnostics.engine.cell_detector_artefact import load_detector
from diagnostics.engine.cells_csv import read_cells_csv
from diagnostics.engine.crops import DEFAULT_CROP_SIZE
from diagnostics.engine.synthetic_slide import (SlideLayout, write_dicom_wsi,
                                                write_pyramidal_tiff)
from diagnostics.engine.whole_slide import (CRIC_MICRONS_PER_PIXEL, open_slide, scan_slide,
                                            tissue_mask)

CRIC_DIR = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cric"
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "diagnostics" / "trained_models" / "detector"
# A 40x scanner: nuclei 1.1 times larger than in CRIC's fields.
SCANNER_MPP = 0.25
ZOOM = CRIC_MICRONS_PER_PIXEL / SCANNER_MPP
MATCH_PX = 20  # at CRIC scale, as the detector's own validation


@pytest.fixture(scope="module")
def marked_fields():
    if not (CRIC_DIR / "cells.csv").is_file():
        pytest.skip(f"CRIC fields not found at {CRIC_DIR}")
    by_image = read_cells_csv(CRIC_DIR / "cells.csv").groupby_image()
    names = sorted(by_image, key=lambda name: -len(by_image[name]))[:2]
    return [(Image.open(CRIC_DIR / "images" / name).convert("RGB"),
             np.array([(cell.x, cell.y) for cell in by_image[name]])) for name in names]


@pytest.fixture(scope="module")
def detector():
    return load_detector(SHIPPED_DIR)


def _layout(marked_fields, zoom):
    fields = [field.resize((round(field.width * zoom), round(field.height * zoom)),
                           Image.BICUBIC) for field, _ in marked_fields]
    return SlideLayout.grid(fields, width=3000, height=2000, gap=60)


@pytest.fixture(scope="module")
def slide_path(marked_fields, tmp_path_factory):
    layout = _layout(marked_fields, ZOOM)
    path = write_pyramidal_tiff(tmp_path_factory.mktemp("slides") / "slide.tiff", layout,
                                mpp=SCANNER_MPP)
    # The marks in level-0 slide pixels.
    marks = np.vstack([(marks + 0.5) * ZOOM - 0.5 + (left, top)
                       for (left, top, index), (_, marks) in
                       zip(layout.positions, [marked_fields[i] for _, _, i in layout.positions])])
    return path, marks


@pytest.fixture(scope="module")
def scanned(slide_path, detector):
    path, _ = slide_path
    calls = []
    scan = scan_slide(open_slide(path), detector, tile_size=512,
                      progress=lambda done, total: calls.append((done, total)))
    tiles = list(scan)
    return scan, tiles, calls


def _recall(found, marks, radius):
    distance, _ = cKDTree(found).query(marks)
    return float(np.mean(distance <= radius))


def test_it_reads_the_pyramid_and_its_scale(slide_path):
    slide = open_slide(slide_path[0])
    assert slide.dimensions == (3000, 2000)
    assert len(slide.level_dimensions) >= 2
    assert slide.mpp == pytest.approx(SCANNER_MPP)


def test_it_skips_glass_tiles_and_reports_progress(scanned):
    scan, tiles, calls = scanned
    # Two fields fill the top half; the bottom rows are glass.
    assert 0 < scan.tiles_skipped < scan.tiles_total
    assert calls[-1] == (scan.tiles_total, scan.tiles_total)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert not scan.mpp_assumed


def test_it_finds_the_marked_nuclei_in_slide_coordinates(scanned, slide_path, marked_fields,
                                                          detector):
    _, tiles, _ = scanned
    _, marks = slide_path
    found = np.vstack([np.column_stack([tile.x, tile.y]) for tile in tiles])
    assert found[:, 0].max() < 3000 and found[:, 1].max() < 2000
    slide_recall = _recall(found, marks, MATCH_PX * ZOOM)
    field_recall = np.mean([_recall(np.column_stack([d.x, d.y]), field_marks, MATCH_PX)
                            for d, field_marks in
                            ((detector.detect(field), field_marks)
                             for field, field_marks in marked_fields)])
    assert slide_recall >= field_recall - 0.05


def test_no_nucleus_is_reported_twice_across_tile_overlaps(scanned):
    _, tiles, _ = scanned
    found = np.vstack([np.column_stack([tile.x, tile.y]) for tile in tiles])
    assert len(cKDTree(found).query_pairs(3.0)) == 0
    # Tiles meet every 512 CRIC px; cells were found on both sides of those edges.
    assert len({(tile.row, tile.column) for tile in tiles}) > 4


def test_each_cell_has_a_classifier_sized_crop(scanned):
    _, tiles, _ = scanned
    crops = tiles[0].crops()
    assert len(crops) == len(tiles[0])
    assert {crop.size for crop in crops} == {(DEFAULT_CROP_SIZE, DEFAULT_CROP_SIZE)}


def test_a_dicom_wsi_opens_as_a_folder_or_a_file_and_is_scanned_alike(marked_fields, detector,
                                                                       tmp_path):
    field, marks = marked_fields[0]
    layout = _layout([(field, marks)], ZOOM)
    folder = write_dicom_wsi(tmp_path / "dicom", _cropped(layout, 1600, 1250), SCANNER_MPP)
    assert open_slide(folder / "level-0.dcm").dimensions == (1600, 1250)
    scan = scan_slide(folder, detector, tile_size=768)
    assert scan.slide.vendor == "dicom" and scan.mpp == pytest.approx(SCANNER_MPP)
    found = np.vstack([np.column_stack([tile.x, tile.y]) for tile in scan])
    left, top, _ = layout.positions[0]
    slide_recall = _recall(found, (marks + 0.5) * ZOOM - 0.5 + (left, top), MATCH_PX * ZOOM)
    detected = detector.detect(field)
    assert slide_recall >= _recall(np.column_stack([detected.x, detected.y]), marks,
                                   MATCH_PX) - 0.05


def test_a_high_magnification_slide_is_read_from_the_level_at_cric_scale(marked_fields,
                                                                         detector, tmp_path):
    field, marks = marked_fields[0]
    zoom = 4  # a 160x slide: its level 1 (4x smaller) is at CRIC's scale
    layout = SlideLayout(5400, 4200, [field.resize((field.width * zoom, field.height * zoom))],
                         [(100, 100, 0)])
    path = write_pyramidal_tiff(tmp_path / "160x.tiff", layout,
                                mpp=CRIC_MICRONS_PER_PIXEL / zoom)
    scan = scan_slide(path, detector)
    assert scan.level == 1 and scan.to_level0 == pytest.approx(zoom)
    found = np.vstack([np.column_stack([tile.x, tile.y]) for tile in scan])
    slide_recall = _recall(found, (marks + 0.5) * zoom - 0.5 + 100, MATCH_PX * zoom)
    detected = detector.detect(field)
    assert slide_recall >= _recall(np.column_stack([detected.x, detected.y]), marks,
                                   MATCH_PX) - 0.05


def _cropped(layout, width, height):
    return SlideLayout(width, height, layout.fields, layout.positions[:1])


def test_a_slide_without_scale_is_read_at_cric_scale_and_says_so(marked_fields, detector,
                                                                  tmp_path):
    layout = _layout(marked_fields[:1], 1.0)
    path = write_pyramidal_tiff(tmp_path / "no-mpp.tiff", layout, mpp=None)
    scan = scan_slide(path, detector, tile_size=1024)
    assert scan.mpp_assumed and scan.mpp == CRIC_MICRONS_PER_PIXEL
    assert scan.to_level0 == 1.0


def test_an_empty_slide_is_all_background():
    glass = np.full((200, 300, 3), 226, dtype=np.uint8)
    glass += np.random.default_rng(0).integers(0, 3, glass.shape, dtype=np.uint8)
    mask, _ = tissue_mask(glass)
    assert not mask.any()


def test_a_file_that_is_no_slide_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a slide")
    with pytest.raises(ValueError, match="not a whole-slide image"):
        open_slide(path)


class JitteryDotDetector:
    """Finds dark dots, each time a pixel or so off: as a real detector does when a nucleus
    is seen in two tiles' windows with different surroundings."""
    metadata_ = {"scale": {"nucleus_diameter_px": 10}}

    def __init__(self):
        self.random = np.random.default_rng(0)

    def detect(self, pixels):
        from scipy import ndimage as ndi

        from diagnostics.engine.cell_detector import Detections

        labels, count = ndi.label(pixels.mean(axis=-1) < 100)
        centres = np.array(ndi.center_of_mass(labels > 0, labels, range(1, count + 1)))
        centres = centres.reshape(-1, 2) + self.random.uniform(-1.5, 1.5, (count, 2))
        return Detections(x=centres[:, 1], y=centres[:, 0], score=np.ones(count),
                          radius=np.full(count, 5.0))


def test_a_nucleus_on_a_tile_edge_is_reported_once(tmp_path):
    dots = np.array([(512, 100), (512, 300), (200, 512), (512, 512), (800, 512)])
    field = np.full((700, 1100, 3), 226, dtype=np.uint8)
    rows, columns = np.mgrid[:700, :1100]
    for x, y in dots:
        field[np.hypot(columns - x, rows - y) < 5] = 30
    layout = SlideLayout(1100, 700, [Image.fromarray(field)], [(0, 0, 0)])
    path = write_pyramidal_tiff(tmp_path / "dots.tiff", layout, mpp=None, compression=None)
    for _ in range(3):  # other jitters, same answer
        tiles = list(scan_slide(path, JitteryDotDetector(), tile_size=512))
        found = np.vstack([np.column_stack([tile.x, tile.y]) for tile in tiles])
        assert len(found) == len(dots)
        assert (cKDTree(found).query(dots)[0] < 2.5).all()
