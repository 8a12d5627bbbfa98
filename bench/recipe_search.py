"""Speed/accuracy of cheaper classifier recipes (input size, views, head) on grouped folds.

    # 1. backbone throughput (preprocessing + EfficientNet-Lite0, decode excluded)
    .venv/bin/python bench/recipe_search.py throughput --n 256
    # 2. extract (or reuse) the features a recipe needs; cached in .cache/features, keyed
    #    by backbone/size/view/preprocessing/file list by the engine's feature_cache
    .venv/bin/python bench/recipe_search.py extract --size 160 --views identity hflip
    # 3. grouped 5-fold CV (seed 0, the engine's grouped_kfold) + end-to-end cells/s
    .venv/bin/python bench/recipe_search.py cv --recipes 224-id-logreg 160-id-lgbm300
    .venv/bin/python bench/recipe_search.py cv            # every recipe in RECIPES
    # 4. end-to-end cells/s, timing rounds interleaved across recipes (median of rounds);
    #    overwrites the single-run cells/s that `cv` records
    .venv/bin/python bench/recipe_search.py speed --n 64 --rounds 3
    # 5. print the Markdown table of everything measured so far
    .venv/bin/python bench/recipe_search.py table

Results are appended to bench/recipe_search_results.json (one record per recipe; a
re-run replaces the record). Everything runs with 2 torch threads (``--threads``).

Accuracy figures pool the out-of-fold predictions of all 3,230 images, using the folds of
``diagnostics.engine.grouped_kfold(labels, groups, n_splits=5, seed=0)`` -- the folds the
shipped model was validated on -- and the engine's own ``cross_validate``. ``cells/s`` is
``HybridClassifier.predict_proba`` on already-decoded images (preprocessing + one backbone
pass per view + head), with the head fitted on all images, at batch 8 and batch 32.
"""

import argparse
import json
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
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from diagnostics.engine import (HybridClassifier, LightGBMHead, group_keys,  # noqa: E402
                                grouped_kfold, images_to_batch, list_image_folder)
from diagnostics.engine.datasets import load_image  # noqa: E402
from diagnostics.engine.evaluation import cross_validate  # noqa: E402
from diagnostics.engine.feature_cache import DEFAULT_CACHE_DIR, cached_view_features  # noqa: E402

DATA_DIR = REPO_ROOT.parent / "shared" / "datasets" / "sipakmed"
RESULTS = REPO_ROOT / "bench" / "recipe_search_results.json"
ALL_VIEWS = ["identity", "hflip", "vflip", "rot180", "rot90", "rot270"]
BACKBONE = "efficientnet_lite0"


def lightgbm_head(n_estimators):
    # training.DEFAULT_HEAD with fewer trees
    return LightGBMHead(n_estimators=n_estimators, learning_rate=0.05, num_leaves=15,
                        colsample_bytree=0.1, min_child_samples=20, random_state=0, n_jobs=2)


def logreg_head(c=0.1):
    # Standardised features, L2 logistic regression (multinomial, lbfgs). C fixed a priori,
    # not tuned on these folds.
    return make_pipeline(StandardScaler(),
                         LogisticRegression(C=c, max_iter=2000, random_state=0))


HEADS = {"lgbm800": lambda: lightgbm_head(800), "lgbm300": lambda: lightgbm_head(300),
         "logreg": logreg_head}

# name -> (image size, views, head)
RECIPES = {
    "224-6v-lgbm800": (224, ALL_VIEWS, "lgbm800"),   # the shipped recipe
    "224-6v-logreg": (224, ALL_VIEWS, "logreg"),
    "224-id-lgbm800": (224, ["identity"], "lgbm800"),
    "224-id-lgbm300": (224, ["identity"], "lgbm300"),
    "224-id-logreg": (224, ["identity"], "logreg"),
    "224-2v-logreg": (224, ["identity", "rot90"], "logreg"),
    "160-id-lgbm300": (160, ["identity"], "lgbm300"),
    "160-id-logreg": (160, ["identity"], "logreg"),
    "160-2v-lgbm300": (160, ["identity", "rot90"], "lgbm300"),
    "160-2v-logreg": (160, ["identity", "rot90"], "logreg"),
    "128-id-lgbm300": (128, ["identity"], "lgbm300"),
    "128-id-logreg": (128, ["identity"], "logreg"),
}


def spread_sample(dataset, n):
    """``n`` paths spread evenly over the sorted listing (every class represented)."""
    positions = np.linspace(0, len(dataset) - 1, num=min(n, len(dataset))).round().astype(int)
    return [dataset.paths[i] for i in positions]


def rate(function, n_items, repeats=1):
    """Best items/s over ``repeats`` runs of ``function``."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return n_items / best


def backbone_throughput(args):
    dataset = list_image_folder(args.data)
    images = [load_image(path) for path in spread_sample(dataset, args.n)]
    print(f"{len(images)} decoded cells, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print("| size | batch | cells/s (preprocessing + 1 backbone pass) |")
    print("|---:|---:|---:|")
    for size in args.sizes:
        extractor = HybridClassifier(BACKBONE, image_size=size)
        extractor._ensure_backbone()

        def run(batch_size):
            for start in range(0, len(images), batch_size):
                batch = images_to_batch(images[start:start + batch_size],
                                        extractor.preprocessing_)
                with torch.inference_mode():
                    extractor.backbone_(batch)

        for batch_size in args.batch_sizes:
            run(batch_size)  # warm-up (allocator, oneDNN kernels for this shape)
            print(f"| {size} | {batch_size} | {rate(lambda: run(batch_size), len(images), 2):.1f} |",
                  flush=True)


def extract(args):
    dataset = list_image_folder(args.data)
    extractor = HybridClassifier(BACKBONE, image_size=args.size)
    for view in args.views:
        started = time.perf_counter()
        features = cached_view_features(extractor, dataset, view, args.cache_dir, progress=False)
        print(f"{args.size} px {view}: {features.shape} in "
              f"{time.perf_counter() - started:.1f} s", flush=True)


def cross_validate_recipes(args):
    dataset = list_image_folder(args.data)
    labels = np.asarray(dataset.labels).astype(str)
    folds = grouped_kfold(dataset.labels, group_keys(dataset), n_splits=5, seed=0)
    speed_images = [load_image(path) for path in spread_sample(dataset, args.speed_n)]
    results = load_results()
    for name in args.recipes or list(RECIPES):
        size, views, head_name = RECIPES[name]
        extractor = HybridClassifier(BACKBONE, image_size=size)
        features = np.stack([cached_view_features(extractor, dataset, view, args.cache_dir,
                                                  progress=False) for view in views])
        classifier = HybridClassifier(BACKBONE, head=HEADS[head_name](), image_size=size,
                                      views=views)
        started = time.perf_counter()
        metrics = cross_validate(classifier, features, labels, folds)
        cv_seconds = time.perf_counter() - started
        record = {
            "recipe": name, "image_size": size, "views": views, "head": head_name,
            "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
            "recall": {cls: row["recall"] for cls, row in metrics["per_class"].items()},
            "per_fold_accuracy": metrics["per_fold_accuracy"],
            "cv_seconds": round(cv_seconds, 1),
        }
        if not args.no_speed:
            classifier.backbone_ = extractor.backbone_
            classifier.preprocessing_ = extractor.preprocessing_
            classifier.fit_features(features, labels)
            for batch_size in (8, 32):
                classifier.batch_size = batch_size
                classifier.predict_proba(speed_images[:batch_size])  # warm-up
                record[f"cells_per_s_b{batch_size}"] = rate(
                    lambda: classifier.predict_proba(speed_images), len(speed_images))
        results[name] = record
        save_results(results)
        print(format_row(record), flush=True)


def speed(args):
    """End-to-end cells/s of each recipe, rounds interleaved across recipes (median).

    The head is fitted on all images' cached features; the shipped recipe is timed with
    the shipped model itself (load_classifier, read-only).
    """
    from diagnostics.engine import load_classifier
    dataset = list_image_folder(args.data)
    labels = np.asarray(dataset.labels).astype(str)
    images = [load_image(path) for path in spread_sample(dataset, args.n)]
    classifiers = {}
    for name in args.recipes or list(RECIPES):
        size, views, head_name = RECIPES[name]
        if name == "224-6v-lgbm800":
            classifiers[name] = load_classifier(REPO_ROOT / "diagnostics/trained_models/default")
            continue
        extractor = HybridClassifier(BACKBONE, image_size=size)
        features = np.stack([cached_view_features(extractor, dataset, view, args.cache_dir,
                                                  progress=False) for view in views])
        classifier = HybridClassifier(BACKBONE, head=HEADS[head_name](), image_size=size,
                                      views=views)
        classifier.backbone_ = extractor.backbone_
        classifier.preprocessing_ = extractor.preprocessing_
        classifiers[name] = classifier.fit_features(features, labels)
    rates = {(name, b): [] for name in classifiers for b in args.batch_sizes}
    for round_index in range(args.rounds):
        for name, classifier in classifiers.items():
            for batch_size in args.batch_sizes:
                classifier.batch_size = batch_size
                classifier.predict_proba(images[:batch_size])  # warm-up
                rates[name, batch_size].append(
                    rate(lambda: classifier.predict_proba(images), len(images)))
        print(f"round {round_index + 1}/{args.rounds} done", flush=True)
    results = load_results()
    for name in classifiers:
        line = [name]
        for batch_size in args.batch_sizes:
            values = rates[name, batch_size]
            line.append(f"b{batch_size}: median {np.median(values):.1f} "
                        f"(min {min(values):.1f}, max {max(values):.1f}) cells/s")
            if name in results:
                results[name][f"cells_per_s_b{batch_size}"] = float(np.median(values))
                results[name][f"cells_per_s_b{batch_size}_all"] = values
        print("  ".join(line), flush=True)
    save_results(results)


def load_results():
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def save_results(results):
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


TABLE_HEADER = ("| recipe | size | views | head | accuracy | macro-F1 | Koilocytotic recall | "
                "Dyskeratotic recall | cells/s b8 | cells/s b32 |\n"
                "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")


def format_row(r):
    def speed(key):
        if key not in r:
            return "-"
        runs = r.get(f"{key}_all")
        spread = f" ({min(runs):.0f}-{max(runs):.0f})" if runs else ""
        return f"{r[key]:.1f}{spread}"
    return (f"| {r['recipe']} | {r['image_size']} | {len(r['views'])} | {r['head']} | "
            f"{r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['recall']['Koilocytotic']:.3f} | "
            f"{r['recall']['Dyskeratotic']:.3f} | {speed('cells_per_s_b8')} | "
            f"{speed('cells_per_s_b32')} |")


def table(_args):
    print(TABLE_HEADER)
    results = load_results()
    for name in [n for n in RECIPES if n in results]:
        print(format_row(results[name]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA_DIR))
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("throughput")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--sizes", type=int, nargs="+", default=[224, 160, 128])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32])
    p.set_defaults(run=backbone_throughput)
    p = commands.add_parser("extract")
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--views", nargs="+", default=["identity"])
    p.set_defaults(run=extract)
    p = commands.add_parser("cv")
    p.add_argument("--recipes", nargs="+", choices=list(RECIPES))
    p.add_argument("--speed-n", type=int, default=128, help="images timed for cells/s")
    p.add_argument("--no-speed", action="store_true")
    p.set_defaults(run=cross_validate_recipes)
    p = commands.add_parser("speed")
    p.add_argument("--recipes", nargs="+", choices=list(RECIPES))
    p.add_argument("--n", type=int, default=64, help="decoded images per timing")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32])
    p.set_defaults(run=speed)
    commands.add_parser("table").set_defaults(run=table)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.run(args)


if __name__ == "__main__":
    main()
