"""Tiny real data for engine tests: 4 SIPaKMeD cells per class, 2 cluster images each."""

import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from diagnostics.engine import HybridClassifier, LightGBMHead, list_image_folder

SIPAKMED_DIR = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "sipakmed"
CELLS_PER_CLUSTER = 2
CLUSTERS_PER_CLASS = 2
NILM, HSIL = "Negative for intraepithelial lesion", "HSIL"


@pytest.fixture(scope="session", autouse=True)
def _two_torch_threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def sipakmed_dir():
    if not SIPAKMED_DIR.is_dir():
        pytest.skip(f"SIPaKMeD images not found at {SIPAKMED_DIR}")
    return SIPAKMED_DIR


@pytest.fixture(scope="session")
def tiny_dataset_dir(sipakmed_dir, tmp_path_factory):
    """Folder-per-class copy of a few real cells, grouped by cluster image."""
    root = tmp_path_factory.mktemp("tiny_sipakmed")
    for class_dir in sorted(p for p in sipakmed_dir.iterdir() if p.is_dir()):
        (root / class_dir.name).mkdir()
        for path in _first_cells_of_first_clusters(class_dir):
            shutil.copy(path, root / class_dir.name / path.name)
    return root


def _first_cells_of_first_clusters(class_dir):
    by_cluster = defaultdict(list)
    for path in sorted(class_dir.glob("*.png")):
        by_cluster[path.name.split("_")[0]].append(path)
    full_clusters = [cells for cells in by_cluster.values() if len(cells) >= CELLS_PER_CLUSTER]
    return [path for cells in full_clusters[:CLUSTERS_PER_CLASS]
            for path in cells[:CELLS_PER_CLUSTER]]


# A small fitted classifier, shared by the estimator's and the artefact's tests (fitted once
# per module, as each module had it).
SMALL_HEAD = LightGBMHead(n_estimators=20, num_leaves=4, min_child_samples=1)


@pytest.fixture(scope="module")
def tiny_images(tiny_dataset_dir):
    dataset = list_image_folder(tiny_dataset_dir)
    return list(dataset.images()), dataset.labels


@pytest.fixture(scope="module")
def fitted(tiny_images):
    images, labels = tiny_images
    return HybridClassifier(head=SMALL_HEAD, image_size=64, views=["identity", "hflip"],
                            pretrained=False).fit(images, labels)


@pytest.fixture(scope="session")
def cric_dir(tmp_path_factory):
    """Four fields of view, each with three NILM cells and one HSIL cell."""
    return make_cric_folder(tmp_path_factory.mktemp("cric"))


def make_cric_folder(root):
    """A CRIC-layout folder (images/ + cells.csv) under ``root``: four fields of view, each
    with three NILM cells and one HSIL cell (on a dark "nucleus")."""
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = ["image,cell_id,bethesda_system,x,y"]
    for field in range(4):
        pixels = rng.integers(100, 220, (120, 160, 3), dtype=np.uint8)
        pixels[20:40, 100:120] = (90, 40, 120)
        Image.fromarray(pixels).save(root / "images" / f"f{field}.jpg")
        rows += [f"f{field}.jpg,{field}{i},{NILM},{20 + 25 * i},{80}" for i in range(3)]
        rows.append(f"f{field}.jpg,{field}9,{HSIL},110,30")
    (root / "cells.csv").write_text("\n".join(rows) + "\n")
    return root
