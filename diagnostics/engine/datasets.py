"""Folder-per-class image data sets and splits that keep related cells together."""

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.model_selection import StratifiedGroupKFold

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")
# SIPaKMeD names cells NNN_MM: NNN is the cluster image a cell was cropped from.
DEFAULT_GROUP_PATTERN = r"^(\d+)_"
# Reviewed cells (see add_reviewed_cells) are named <specimen>_<cell>.
REVIEWED_PREFIX = "reviewed"
REVIEWED_NAME_PATTERN = r"^([^_]+)_"


@dataclass
class ImageFolderDataset:
    """Image paths with their class names, read from ``root/<class>/<image>``."""

    root: Path
    paths: list
    labels: list
    classes: list
    # Folders of files added from elsewhere, by the prefix their relative paths get.
    more_roots: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.paths)

    def relative_paths(self):
        return [self._relative_path(path) for path in self.paths]

    def _relative_path(self, path):
        if path.is_relative_to(self.root):
            return path.relative_to(self.root).as_posix()
        for prefix, root in self.more_roots.items():
            if path.is_relative_to(root):
                return f"{prefix}/{path.relative_to(root).as_posix()}"
        raise ValueError(f"{path} is in none of this data set's folders")

    def counts_per_class(self):
        return {name: self.labels.count(name) for name in self.classes}

    def file_list_sha256(self):
        """sha256 of the sorted ``class/file`` list: identifies which files were used."""
        listing = "\n".join(sorted(self.relative_paths()))
        return hashlib.sha256(listing.encode("utf-8")).hexdigest()

    def images(self):
        """The images as a lazy sequence of RGB PIL images (read when iterated)."""
        return LazyImages(self.paths)


class LazyImages:
    """Iterable of images read from ``paths`` one at a time; ``len`` works for progress."""

    def __init__(self, paths):
        self.paths = list(paths)

    def __len__(self):
        return len(self.paths)

    def __iter__(self):
        return (load_image(path) for path in self.paths)


def list_image_folder(root, suffixes=IMAGE_SUFFIXES):
    """List ``root/<class>/<image>`` files; classes and files are sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Data set folder {root} does not exist")
    classes = sorted(entry.name for entry in root.iterdir()
                     if entry.is_dir() and not entry.name.startswith("."))
    paths, labels = [], []
    for class_name in classes:
        for path in sorted((root / class_name).iterdir()):
            if path.is_file() and path.suffix.lower() in suffixes:
                paths.append(path)
                labels.append(class_name)
    if not paths:
        raise ValueError(f"No images ({', '.join(suffixes)}) found in class folders of {root}")
    return ImageFolderDataset(root, paths, labels, classes)


def load_image(path):
    """Read an image file fully into memory as RGB, closing the file."""
    with Image.open(path) as image:
        return image.convert("RGB")


def group_keys(dataset, pattern=DEFAULT_GROUP_PATTERN, per_class=True):
    """One ``class/NNN`` key per image from ``pattern``'s first group on the file name.

    A file whose name does not match is its own group. ``per_class=False`` drops the class
    from the key, for groups whose cells have several classes (a field of view's cells).
    """
    regex = re.compile(pattern)
    keys = []
    for path, label in zip(dataset.paths, dataset.labels):
        match = regex.search(path.name)
        key = match.group(1) if match else path.stem
        keys.append(f"{label}/{key}" if per_class else key)
    return keys


def grouped_kfold(labels, groups, n_splits=5, seed=0):
    """Stratified folds where each group's files are all in train or all in validation.

    Returns a list of ``(train_indices, validation_indices)``.
    """
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    placeholder = np.zeros(len(labels))
    return list(splitter.split(placeholder, np.asarray(labels), np.asarray(groups)))


def grouped_holdout(labels, groups, validation_fraction=0.2, seed=0):
    """One stratified split holding out about ``validation_fraction`` of the groups."""
    n_splits = max(2, round(1 / validation_fraction))
    return grouped_kfold(labels, groups, n_splits=n_splits, seed=seed)[0]


def add_reviewed_cells(dataset, groups, reviewed_dir):
    """``dataset`` and its ``groups`` with the cells of ``reviewed_dir`` added.

    ``reviewed_dir`` holds a folder per class of cells whose class a signer overrode, each
    named ``<specimen>_<cell>.<ext>`` and filed under the class the signer gave it (an
    empty or missing folder adds nothing). Their group is their specimen, whatever class
    each got: a smear's cells share its staining and patient, so none of them may validate
    a model trained on another of them. Returns ``(dataset, groups, summary)``; raises
    ValueError for a class the data set does not have.
    """
    reviewed_dir = Path(reviewed_dir)
    paths, labels = [], []
    if reviewed_dir.is_dir() and any(reviewed_dir.iterdir()):
        reviewed = list_image_folder(reviewed_dir)
        paths, labels = reviewed.paths, reviewed.labels
    unknown = sorted(set(labels) - set(dataset.classes))
    if unknown:
        raise ValueError(f"Reviewed cells of classes the data set does not have: "
                         f"{', '.join(unknown)} (data set classes: {', '.join(dataset.classes)}).")
    specimens = [_specimen_of(path) for path in paths]
    merged = ImageFolderDataset(
        dataset.root, dataset.paths + paths, dataset.labels + labels, dataset.classes,
        {**dataset.more_roots, REVIEWED_PREFIX: reviewed_dir})
    summary = {"n_cells": len(paths), "n_specimens": len(set(specimens)),
               "counts_per_class": {name: labels.count(name) for name in sorted(set(labels))},
               "grouped_by": "specimen"}
    return merged, groups + [f"{REVIEWED_PREFIX}/{specimen}" for specimen in specimens], summary


def _specimen_of(path):
    match = re.search(REVIEWED_NAME_PATTERN, path.name)
    return match.group(1) if match else path.stem
