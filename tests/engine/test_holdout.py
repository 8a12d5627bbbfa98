"""Holdout evaluation: a saved model scored as it is on labelled cells it never saw."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diagnostics.engine import HybridClassifier, LightGBMHead, load_classifier, save_classifier
from diagnostics.engine.holdout import abnormal_classes, evaluate_holdout, holdout_metrics

SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "diagnostics" / "trained_models" / "default"
NILM, HSIL = "Negative for intraepithelial lesion", "HSIL"


@pytest.fixture(scope="module")
def sipakmed_holdout(sipakmed_dir, tmp_path_factory):
    """Six cells of each SIPaKMeD class, as a folder per class."""
    root = tmp_path_factory.mktemp("holdout")
    for class_dir in sorted(p for p in sipakmed_dir.iterdir() if p.is_dir()):
        (root / class_dir.name).mkdir()
        for path in sorted(class_dir.glob("*.png"))[-6:]:
            shutil.copy(path, root / class_dir.name / path.name)
    return root


def test_the_shipped_model_is_scored_on_a_folder_per_class(sipakmed_holdout):
    classifier = load_classifier(SHIPPED_MODEL)
    report = evaluate_holdout(classifier, sipakmed_holdout)
    metrics = report["metrics"]
    assert report["data"]["n_images"] == 30
    assert report["classes"] == classifier.classes_
    assert np.sum(metrics["confusion_matrix"]) == 30
    assert metrics["accuracy"] > 0.8
    assert metrics["abnormal"]["classes"] == ["Dyskeratotic", "Koilocytotic"]
    assert metrics["abnormal"]["n_abnormal"] == 12
    assert 0 <= metrics["referral_rate"] <= 1
    assert metrics["accuracy_not_referred"] >= metrics["accuracy"] - 1e-9


def _field(colour):
    pixels = np.full((96, 128, 3), 200, dtype=np.uint8)
    pixels[30:70, 40:90] = colour
    return Image.fromarray(pixels)


@pytest.fixture(scope="module")
def bethesda_model(tmp_path_factory):
    """A tiny model with two Bethesda classes, recording a crop size of 48 px."""
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8))
              for _ in range(12)]
    labels = [NILM, HSIL] * 6
    classifier = HybridClassifier(head=LightGBMHead(n_estimators=5, min_child_samples=1),
                                  image_size=32, pretrained=False).fit(images, labels)
    out = tmp_path_factory.mktemp("bethesda_model")
    save_classifier(classifier, out, {"version": "bethesda-tiny", "crop": {"size": 48}})
    return out


def _cric_folder(root, labels):
    (root / "images").mkdir(parents=True)
    _field((120, 60, 160)).save(root / "images" / "a.jpg")
    _field((60, 60, 200)).save(root / "images" / "b.jpg")
    rows = ["image,cell_id,bethesda_system,x,y"]
    rows += [f"{'ab'[i % 2]}.jpg,{i},{label},{60 + i},{50}" for i, label in enumerate(labels)]
    (root / "cells.csv").write_text("\n".join(rows) + "\n")
    return root


def test_a_cric_layout_folder_is_cut_into_crops_at_the_models_size(bethesda_model, tmp_path):
    holdout = _cric_folder(tmp_path / "cric", [NILM, HSIL, NILM, HSIL, NILM])
    report = evaluate_holdout(load_classifier(bethesda_model), holdout)
    assert report["data"]["layout"] == "images/ + cells.csv"
    assert report["data"]["crop_size"] == 48
    assert report["data"]["n_fields"] == 2
    assert report["metrics"]["abnormal"]["classes"] == [HSIL]
    assert report["metrics"]["abnormal"]["n_abnormal"] == 2
    assert np.sum(report["metrics"]["confusion_matrix"]) == 5


def test_labels_the_model_does_not_know_are_a_clear_error(bethesda_model, tmp_path):
    holdout = _cric_folder(tmp_path / "cric", [NILM, "ASC-US"])
    with pytest.raises(ValueError, match="labels the model does not know: ASC-US"):
        evaluate_holdout(load_classifier(bethesda_model), holdout)


def test_abnormal_means_not_nilm_for_bethesda_classes():
    assert abnormal_classes(["ASC-H", "ASC-US", "HSIL", "LSIL", NILM, "SCC"]) == [
        "ASC-H", "ASC-US", "HSIL", "LSIL", "SCC"]
    assert abnormal_classes(["NILM", "abnormal"]) == ["abnormal"]


def test_sensitivity_specificity_and_referral_figures():
    classes = ["Dyskeratotic", "Parabasal"]
    labels = ["Dyskeratotic", "Dyskeratotic", "Parabasal", "Parabasal"]
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]])
    metrics = holdout_metrics(labels, probabilities, classes, [False, True, False, True])
    assert metrics["abnormal"]["sensitivity"] == 0.5
    assert metrics["abnormal"]["specificity"] == 1.0
    assert metrics["referral_rate"] == 0.5
    assert metrics["accuracy_not_referred"] == 1.0
    assert metrics["abnormal_missed_not_referred"] == 0


def test_a_cric_holdout_is_identified_by_its_fields_and_cells_csv(bethesda_model, tmp_path):
    classifier = load_classifier(bethesda_model)
    first = _cric_folder(tmp_path / "first", [NILM, HSIL, NILM])
    same = _cric_folder(tmp_path / "same", [NILM, HSIL, NILM])
    relabelled = _cric_folder(tmp_path / "relabelled", [NILM, HSIL, HSIL])

    def file_list_hash(folder):
        return evaluate_holdout(classifier, folder)["data"]["file_list_sha256"]

    assert file_list_hash(first) == file_list_hash(same)
    assert file_list_hash(first) != file_list_hash(relabelled)
