"""Cells a signer overrode, added to a training set and grouped by specimen."""
import shutil

import pytest

from diagnostics.engine import group_keys, grouped_kfold, list_image_folder, train_and_evaluate
from diagnostics.engine.datasets import add_reviewed_cells

TINY_FROZEN = {"image_size": 64, "views": ["identity"], "n_estimators": 10,
               "min_child_samples": 1}


@pytest.fixture(scope="module")
def reviewed_dir(tiny_dataset_dir, tmp_path_factory):
    """Five overridden cells of two specimens (7 and 9), filed under their reviewed class;
    specimen 7's cells were given two different classes."""
    root = tmp_path_factory.mktemp("reviewed")
    cells = sorted((tiny_dataset_dir / "Parabasal").glob("*.png"))
    for name, (reviewed_class, source) in {
        "7_101.png": ("Koilocytotic", cells[0]), "7_102.png": ("Dyskeratotic", cells[1]),
        "7_103.png": ("Koilocytotic", cells[2]), "9_201.png": ("Metaplastic", cells[3]),
        "9_202.png": ("Metaplastic", cells[0]),
    }.items():
        (root / reviewed_class).mkdir(exist_ok=True)
        shutil.copy(source, root / reviewed_class / name)
    return root


def test_reviewed_cells_are_added_under_their_reviewed_class(tiny_dataset_dir, reviewed_dir):
    dataset = list_image_folder(tiny_dataset_dir)
    merged, groups, summary = add_reviewed_cells(dataset, group_keys(dataset), reviewed_dir)
    assert len(merged) == len(dataset) + 5 and len(groups) == len(merged)
    assert merged.labels[-5:].count("Koilocytotic") == 2
    assert summary == {"n_cells": 5, "n_specimens": 2, "grouped_by": "specimen",
                       "counts_per_class": {"Dyskeratotic": 1, "Koilocytotic": 2,
                                            "Metaplastic": 2}}
    assert "reviewed/Metaplastic/9_201.png" in merged.relative_paths()


def test_a_specimens_cells_share_one_group_whatever_their_class(tiny_dataset_dir, reviewed_dir):
    dataset = list_image_folder(tiny_dataset_dir)
    merged, groups, _ = add_reviewed_cells(dataset, group_keys(dataset), reviewed_dir)
    reviewed_groups = groups[len(dataset):]
    assert set(reviewed_groups) == {"reviewed/7", "reviewed/9"}
    for train_index, validation_index in grouped_kfold(merged.labels, groups, n_splits=2):
        in_validation = {groups[i] for i in validation_index}
        assert not {groups[i] for i in train_index} & in_validation


def test_an_empty_reviewed_folder_adds_nothing(tiny_dataset_dir, tmp_path):
    dataset = list_image_folder(tiny_dataset_dir)
    merged, groups, summary = add_reviewed_cells(dataset, group_keys(dataset), tmp_path)
    assert len(merged) == len(dataset) and summary["n_cells"] == 0


def test_a_class_the_data_set_lacks_is_refused(tiny_dataset_dir, tmp_path):
    (tmp_path / "HSIL").mkdir()
    shutil.copy(next((tiny_dataset_dir / "Parabasal").glob("*.png")), tmp_path / "HSIL" / "3_1.png")
    dataset = list_image_folder(tiny_dataset_dir)
    with pytest.raises(ValueError, match="classes the data set does not have: HSIL"):
        add_reviewed_cells(dataset, group_keys(dataset), tmp_path)


def test_training_records_how_many_reviewed_cells_it_used(tiny_dataset_dir, reviewed_dir,
                                                          tmp_path):
    metadata = train_and_evaluate(tiny_dataset_dir, tmp_path / "model",
                                  hybrid="efficientnet_lite0-lightgbm", overrides=TINY_FROZEN,
                                  n_folds=2, cache_dir=tmp_path / "cache", progress=False,
                                  reviewed_dir=reviewed_dir)
    data = metadata["training_data"]
    assert data["reviewed_cells"]["n_cells"] == 5
    assert data["n_images"] == 20 + 5 and data["n_groups"] == 10 + 2
    assert "grouped by specimen (2 specimens)" in metadata["validation"]["protocol"]
