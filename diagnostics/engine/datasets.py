"""Folder-per-class image data sets and splits that keep related cells together."""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.model_selection import StratifiedGroupKFold

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")
# SIPaKMeD names cells NNN_MM: NNN is the cluster image a cell was cropped from.
DEFAULT_GROUP_PATTERN = r"^(\d+)_"


@dataclass
class ImageFolderDataset:
    """Image paths with their class names, read from ``root/<class>/<image>``."""

    root: Path
    paths: list
    labels: list
    classes: list

    def __len__(self):
        return len(self.paths)

    def relative_paths(self):
        return [path.relative_to(self.root).as_posix() for path in self.paths]

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


def group_keys(dataset, pattern=DEFAULT_GROUP_PATTERN):
    """One ``class/NNN`` key per image from ``pattern``'s first group on the file name.

    A file whose name does not match is its own group.
    """
    regex = re.compile(pattern)
    keys = []
    for path, label in zip(dataset.paths, dataset.labels):
        match = regex.search(path.name)
        keys.append(f"{label}/{match.group(1) if match else path.stem}")
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
