import json

import numpy as np
import pytest

from diagnostics.engine import HybridClassifier, WrongModelVersion, load_classifier
from diagnostics.engine import save_classifier
from tests.engine.conftest import SMALL_HEAD


def test_save_and_load_give_identical_probabilities(fitted, tiny_images, tmp_path):
    save_classifier(fitted, tmp_path, {"version": "test-1"})
    loaded = load_classifier(tmp_path)
    assert loaded.version == "test-1"
    assert loaded.classes_ == fitted.classes_
    assert np.array_equal(loaded.predict_proba(tiny_images[0]),
                          fitted.predict_proba(tiny_images[0]))


def test_head_is_saved_as_lightgbm_text_not_pickle(fitted, tmp_path):
    save_classifier(fitted, tmp_path)
    assert (tmp_path / "head.txt").read_text().startswith("tree")


def test_edited_head_file_is_refused(fitted, tmp_path):
    save_classifier(fitted, tmp_path)
    with open(tmp_path / "head.txt", "a") as head_file:
        head_file.write("\n")
    with pytest.raises(ValueError, match="sha256"):
        load_classifier(tmp_path)


def test_model_trained_on_other_backbone_weights_is_refused(tiny_images, tmp_path):
    images, labels = tiny_images
    save_classifier(HybridClassifier(head=SMALL_HEAD, image_size=32).fit(images, labels),
                    tmp_path)
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    metadata["backbone"]["weights_sha256"] = "0" * 64
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ValueError, match="weights"):
        load_classifier(tmp_path)


def test_a_folder_holding_another_version_is_refused_before_its_files_are_read(fitted,
                                                                                tmp_path):
    save_classifier(fitted, tmp_path, {"version": "test-2"})
    (tmp_path / "head.txt").unlink()  # not read: the version is checked first
    with pytest.raises(WrongModelVersion, match="holds model version test-2, not test-1"):
        load_classifier(tmp_path, version="test-1")
