"""Backbone features of a data set, cached on disk per view.

Extracting frozen-backbone features is the slow part of validating a recipe; they are kept
in ``.npz`` files named by everything they depend on (backbone and its weights' sha256,
preprocessing, view, precision, and every file's name, size and modification time), so any
change gives a new file rather than stale features.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from .artefact import weights_fields
from .precision import FLOAT32

DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "features"


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
    identity = {
        "backbone": extractor.backbone, "pretrained": extractor.pretrained,
        "weights_sha256": weights_fields(extractor.backbone_)["weights_sha256"],
        "preprocessing": extractor.preprocessing_.to_dict(), "view": view,
        # float32 features keep the keys they had before precision could be chosen.
        **({} if extractor.inference_precision == FLOAT32
           else {"precision": extractor.inference_precision}),
        "files": [(name, path.stat().st_size, path.stat().st_mtime_ns)
                  for name, path in zip(dataset.relative_paths(), dataset.paths)],
    }
    digest = hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()[:16]
    return f"{extractor.backbone}-{extractor.image_size}-{view}-{digest}"
