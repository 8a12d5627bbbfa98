"""Frozen EfficientNet-Lite0, Lite1 and their feature fusion on SIPaKMeD, grouped 5-fold CV.

    .venv/bin/python bench/fusion_experiment.py                # all 3,230 cells
    .venv/bin/python bench/fusion_experiment.py --limit 10     # smoke run, 10 cells/class

Each recipe is the identity view only, with the same LightGBM head. Lite0 runs at 224 px and
Lite1 at 240 px (their training resolutions); "fusion" concatenates their two cached feature
arrays, so it costs both passes. Features are cached in .cache/features by the engine's
feature_cache, as training caches them. Accuracy figures pool the out-of-fold predictions
over the folds of ``grouped_kfold(labels, groups, 5, seed=0)`` (the shipped model's folds).
``cells/s`` is the backbone alone (``pixel_features`` on already prepared cells, best of
``--rounds``); the fusion's is derived from the two members' times per cell.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from diagnostics.engine import (HybridClassifier, LightGBMHead, group_keys,  # noqa: E402
                                grouped_kfold, list_image_folder)
from diagnostics.engine.datasets import ImageFolderDataset  # noqa: E402
from diagnostics.engine.evaluation import cross_validate  # noqa: E402
from diagnostics.engine.feature_cache import DEFAULT_CACHE_DIR, cached_view_features  # noqa: E402

DATA_DIR = REPO_ROOT.parent / "shared" / "datasets" / "sipakmed"
# (recipe name, backbone, input size) of the single-backbone recipes.
SINGLE_RECIPES = [("lite0-224", "efficientnet_lite0", 224),
                  ("lite1-240", "efficientnet_lite1", 240)]
REPORTED_RECALLS = ["Koilocytotic", "Dyskeratotic"]


def lightgbm_classifier():
    head = LightGBMHead(n_estimators=300, learning_rate=0.05, num_leaves=15,
                        colsample_bytree=0.1, min_child_samples=20, random_state=0)
    return HybridClassifier("efficientnet_lite0", head=head)


def first_per_class(dataset, limit):
    """The first ``limit`` images of each class (the whole data set when limit is None)."""
    if limit is None:
        return dataset
    kept = [index for index, label in enumerate(dataset.labels)
            if dataset.labels[:index].count(label) < limit]
    return ImageFolderDataset(dataset.root, [dataset.paths[i] for i in kept],
                              [dataset.labels[i] for i in kept], dataset.classes)


def seconds_per_cell(extractor, dataset, n_cells, rounds):
    """Best-of-``rounds`` backbone time per prepared cell (decode and resize excluded)."""
    # Prepared cells all have the same size, so which cells are timed does not matter.
    images = [image for _, image in zip(range(n_cells), dataset.images())]
    return best_seconds_per_prepared_cell(extractor, extractor.prepare_pixels(images), rounds)


def best_seconds_per_prepared_cell(extractor, pixels, rounds):
    """Best-of-``rounds`` time of ``extractor.pixel_features`` per cell of ``pixels``."""
    extractor.pixel_features(pixels[:8])  # warm-up: builds the inference copy
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        extractor.pixel_features(pixels)
        timings.append(time.perf_counter() - start)
    return min(timings) / len(pixels)


def result_row(recipe, features, labels, folds, cells_per_second):
    metrics = cross_validate(lightgbm_classifier(), features[np.newaxis], labels, folds)
    recalls = [metrics["per_class"][name]["recall"] for name in REPORTED_RECALLS]
    return [recipe, str(features.shape[1]), f"{metrics['accuracy']:.4f}",
            f"{metrics['macro_f1']:.4f}", *(f"{recall:.4f}" for recall in recalls),
            f"{cells_per_second:.1f}"]


def markdown_table(rows):
    header = ["recipe", "feature dim", "accuracy", "macro-F1",
              *(f"{name} recall" for name in REPORTED_RECALLS), "backbone cells/s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA_DIR), help="folder with one sub-folder "
                        "per class (default: %(default)s)")
    parser.add_argument("--limit", type=int, help="use only the first N images of each class")
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR))
    parser.add_argument("--timing-cells", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (best is kept)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    dataset = first_per_class(list_image_folder(args.data), args.limit)
    labels = np.asarray(dataset.labels)
    folds = grouped_kfold(labels, group_keys(dataset), 5, seed=0)
    print(f"{len(dataset)} images, {len(dataset.classes)} classes, 5 grouped folds (seed 0)")

    rows, all_features, all_seconds = [], [], []
    for recipe, backbone, image_size in SINGLE_RECIPES:
        extractor = HybridClassifier(backbone, image_size=image_size)
        features = cached_view_features(extractor, dataset, "identity", args.cache_dir)
        seconds = seconds_per_cell(extractor, dataset, args.timing_cells, args.rounds)
        all_features.append(features)
        all_seconds.append(seconds)
        rows.append(result_row(recipe, features, labels, folds, 1 / seconds))
    fused_name = "fusion " + " + ".join(recipe for recipe, _, _ in SINGLE_RECIPES)
    rows.append(result_row(fused_name, np.concatenate(all_features, axis=1), labels, folds,
                           1 / sum(all_seconds)))
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
