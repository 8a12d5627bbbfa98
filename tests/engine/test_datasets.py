from collections import defaultdict

import pytest

from diagnostics.engine import group_keys, grouped_holdout, grouped_kfold, list_image_folder


@pytest.fixture(scope="module")
def sipakmed(sipakmed_dir):
    return list_image_folder(sipakmed_dir)


def test_classes_are_the_sorted_folder_names(tiny_dataset_dir):
    dataset = list_image_folder(tiny_dataset_dir)
    assert dataset.classes == sorted(p.name for p in tiny_dataset_dir.iterdir())
    assert set(dataset.counts_per_class().values()) == {4}


def test_group_key_is_class_and_cluster_image(tiny_dataset_dir):
    dataset = list_image_folder(tiny_dataset_dir)
    keys = group_keys(dataset)
    assert keys[0] == f"{dataset.labels[0]}/{dataset.paths[0].name.split('_')[0]}"
    assert len(set(keys)) == 10


def test_file_without_cluster_number_is_its_own_group(tmp_path):
    (tmp_path / "A").mkdir()
    for name in ("x.png", "y.png"):
        (tmp_path / "A" / name).write_bytes(b"")
    assert group_keys(list_image_folder(tmp_path)) == ["A/x", "A/y"]


def test_split_keeps_each_cluster_image_on_one_side(sipakmed):
    groups = group_keys(sipakmed)
    for train_index, validation_index in grouped_kfold(sipakmed.labels, groups, n_splits=5):
        assert not {groups[i] for i in train_index} & {groups[i] for i in validation_index}


def test_every_image_is_validated_exactly_once_across_folds(sipakmed):
    folds = grouped_kfold(sipakmed.labels, group_keys(sipakmed), n_splits=5)
    validated = sorted(i for _, validation_index in folds for i in validation_index)
    assert validated == list(range(len(sipakmed)))


def test_holdout_keeps_about_a_fifth_of_each_class_for_validation(sipakmed):
    groups = group_keys(sipakmed)
    _, validation_index = grouped_holdout(sipakmed.labels, groups, 0.2, seed=0)
    per_class = defaultdict(int)
    for i in validation_index:
        per_class[sipakmed.labels[i]] += 1
    for name, count in sipakmed.counts_per_class().items():
        assert 0.1 < per_class[name] / count < 0.3


def test_same_seed_gives_the_same_split(sipakmed):
    groups = group_keys(sipakmed)
    first = grouped_holdout(sipakmed.labels, groups, seed=3)[1]
    second = grouped_holdout(sipakmed.labels, groups, seed=3)[1]
    assert list(first) == list(second)
