"""The nucleus detector: finds nuclei with cytoplasm around them, in colour or grayscale, and
round-trips through its hash-checked folder. Synthetic fields; two CRIC fields when present."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from diagnostics.engine.cell_detector import (DETECTORS, FEATURE_NAMES, find_candidates,
                                              suppress_overlaps)
from diagnostics.engine.cell_detector_context import CONTEXT_FEATURE_NAMES, find_candidates_with_context
from diagnostics.engine.cell_detector_artefact import load_detector, save_detector
from diagnostics.engine.cell_detector_training import (MarkedField, cross_validate_detector,
                                                       fit_detector, match_figures,
                                                       read_marked_fields)

CRIC_DIR = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cric"
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "diagnostics" / "trained_models" / "detector"


def synthetic_field(seed, width=480, height=360):
    """A bright field with squamous-like cells (pale cytoplasm disc, dark 24 px nucleus) and
    leukocyte-like dots (small, dark, on bare glass). Returns (RGB array, nucleus centres)."""
    random = np.random.default_rng(seed)
    pixels = np.full((height, width), 235.0)
    rows, columns = np.mgrid[:height, :width]
    nuclei = []
    for _ in range(60):
        if len(nuclei) == 4:
            break
        x, y = random.uniform(70, width - 70), random.uniform(70, height - 70)
        if all(np.hypot(x - a, y - b) > 120 for a, b in nuclei):
            pixels[np.hypot(columns - x, rows - y) < 50] = 175
            pixels[np.hypot(columns - x, rows - y) < 12] = 70
            nuclei.append((x, y))
    for _ in range(6):
        x, y = random.uniform(10, width - 10), random.uniform(10, height - 10)
        if all(np.hypot(x - a, y - b) > 70 for a, b in nuclei):
            pixels[np.hypot(columns - x, rows - y) < 4] = 60
    pixels = ndi.gaussian_filter(pixels, 1.5) + random.normal(0, 3, pixels.shape)
    rgb = np.clip(np.stack([pixels * 0.9, pixels * 0.95, pixels], axis=-1), 0, 255)
    return rgb.astype(np.uint8), np.asarray(nuclei)


@pytest.fixture(scope="module")
def fitted_on_synthetic():
    fields = [synthetic_field(seed) for seed in range(4)]
    candidates = [find_candidates(image) for image, _ in fields]
    detector = fit_detector(DETECTORS.create("log-logistic", target_recall=1.0), candidates,
                            [marks for _, marks in fields])
    # Synthetic nuclei are perfectly separable: every one scores ~1 and the recall-fitted
    # threshold lands on the fourth decimal of the weakest; an even odds cut is what we test.
    detector.threshold_ = 0.5
    return detector


def test_it_finds_dark_nuclei_with_cytoplasm_around(fitted_on_synthetic):
    image, nuclei = synthetic_field(seed=10)
    figures = match_figures(fitted_on_synthetic.detect(image), nuclei, radius=10)
    assert figures["found"] == len(nuclei)
    assert figures["detections"] <= 2 * len(nuclei)


def test_it_finds_nothing_on_flat_background(fitted_on_synthetic):
    assert len(fitted_on_synthetic.detect(np.full((300, 400, 3), 230, np.uint8))) == 0


def test_it_works_on_grayscale(fitted_on_synthetic):
    image, nuclei = synthetic_field(seed=11)
    gray = Image.fromarray(image).convert("L")
    for version in (gray, np.asarray(gray)):
        assert match_figures(fitted_on_synthetic.detect(version), nuclei, 10)["found"] == \
            len(nuclei)


def test_scores_are_probabilities_and_best_first(fitted_on_synthetic):
    detections = fitted_on_synthetic.detect(synthetic_field(seed=12)[0], threshold=0.0)
    assert len(detections) > 0
    assert np.all((detections.score >= 0) & (detections.score <= 1))
    assert np.all(np.diff(detections.score) <= 0)
    assert np.all(detections.radius > 0)


SMALL_PARAMS = {"log-logistic": {}, "log-boosted": {"n_trees": 5},
                "log-context-boosted": {"n_trees": 5, "context_trees": 5, "inner_folds": 2}}


@pytest.mark.parametrize("name", sorted(SMALL_PARAMS))
def test_a_saved_detector_loads_and_detects_alike(name, tmp_path):
    fields = [synthetic_field(seed) for seed in range(4)]
    detector = fit_detector(DETECTORS.create(name, **SMALL_PARAMS[name]),
                            [find_candidates_with_context(image) for image, _ in fields],
                            [marks for _, marks in fields])
    save_detector(detector, tmp_path, {"version": "test-1"})
    loaded = load_detector(tmp_path)
    image = synthetic_field(seed=13)[0]
    assert loaded.metadata_["version"] == "test-1"
    assert loaded.metadata_["name"] == name
    assert np.allclose(loaded.detect(image).score, detector.detect(image).score)


def test_the_two_stage_detector_scores_alike_in_training_and_in_detection():
    # Training scores every candidate with its patch measurements; detection measures only
    # the first stage's survivors: the same candidates must get the same scores either way.
    fields = [synthetic_field(seed) for seed in range(4)]
    detector = fit_detector(DETECTORS.create("log-context-boosted",
                                             **SMALL_PARAMS["log-context-boosted"]),
                            [find_candidates_with_context(image) for image, _ in fields],
                            [marks for _, marks in fields])
    image = synthetic_field(seed=14)[0]
    detected = detector.detect(image, threshold=0.0)
    scored = detector.score_candidates(find_candidates_with_context(image))
    expected = suppress_overlaps(scored.subset(scored.score >= 0.0), detector.overlap)
    assert np.allclose(detected.score, expected.score)
    assert np.allclose(detected.x, expected.x)


def test_every_candidate_gets_finite_patch_measurements():
    image, _ = synthetic_field(seed=15)
    candidates = find_candidates_with_context(image)
    names = FEATURE_NAMES + CONTEXT_FEATURE_NAMES
    assert candidates.features.shape == (len(candidates), len(names))
    assert np.isfinite(candidates.features).all()


def test_a_changed_detector_file_is_refused(fitted_on_synthetic, tmp_path):
    save_detector(fitted_on_synthetic, tmp_path)
    state = json.loads((tmp_path / "detector.json").read_text())
    state["threshold"] = 0.0
    (tmp_path / "detector.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match="sha256"):
        load_detector(tmp_path)


def test_the_shipped_detector_loads_and_is_small():
    detector = load_detector(SHIPPED_DIR)
    assert sum(path.stat().st_size for path in SHIPPED_DIR.iterdir()) < 1_000_000
    assert detector.metadata_["validation"]["pooled"]["recall"] >= 0.95


@pytest.fixture(scope="module")
def two_cric_fields():
    if not CRIC_DIR.is_dir():
        pytest.skip(f"CRIC fields not found at {CRIC_DIR}")
    return read_marked_fields(CRIC_DIR)[:2]


def test_the_shipped_detector_finds_marked_cric_nuclei(two_cric_fields):
    detector = load_detector(SHIPPED_DIR)
    found = sum(match_figures(detector.detect(Image.open(field.path)), field.marks)["found"]
                for field in two_cric_fields)
    assert found >= 0.85 * sum(len(field.marks) for field in two_cric_fields)


@pytest.fixture(scope="module")
def synthetic_marked_fields(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fields")
    fields = []
    for seed in range(6):
        image, nuclei = synthetic_field(seed)
        Image.fromarray(image).save(folder / f"field{seed}.png")
        fields.append(MarkedField(folder / f"field{seed}.png", nuclei, "NILM"))
    return fields


def test_one_held_out_threshold_keeps_the_asked_recall_of_out_of_fold_scores(
        synthetic_marked_fields):
    thresholds = (0.1, 0.5, 0.9)
    detector, report = cross_validate_detector(synthetic_marked_fields, name="log-logistic",
                                               n_folds=2, held_out_recall=0.9,
                                               thresholds=thresholds)
    figures = report["original"]
    assert {fold["threshold"] for fold in figures["per_fold"]} == {detector.threshold_}
    assert figures["pooled"]["recall"] >= 0.9
    curve = figures["curve"]
    assert [row["threshold"] for row in curve] == list(thresholds)
    assert all(len(row["recall_per_fold"]) == 2 for row in curve)
    recalls = [row["recall"] for row in curve]
    detections = [row["detections_per_image"] for row in curve]
    assert recalls == sorted(recalls, reverse=True)
    assert detections == sorted(detections, reverse=True)
