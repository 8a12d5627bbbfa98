import json

import pytest
from PIL import Image

from diagnostics.engine import load_classifier, train_and_evaluate
from diagnostics.engine.hybrid import file_sha256

TINY_CANDIDATES = (
    {"views": ["identity"], "head": {"n_estimators": 10, "min_child_samples": 1}},
    {"views": ["identity", "hflip"], "head": {"n_estimators": 10, "min_child_samples": 1}},
)


@pytest.fixture(scope="module")
def trained(tiny_dataset_dir, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("model")
    cache_dir = tmp_path_factory.mktemp("cache")
    metadata = train_and_evaluate(tiny_dataset_dir, out_dir, image_size=64, n_folds=2,
                                  candidates=TINY_CANDIDATES, cache_dir=cache_dir,
                                  progress=False)
    return metadata, out_dir, cache_dir


def test_metadata_describes_data_validation_and_versions(trained):
    metadata, out_dir, _ = trained
    assert metadata == json.loads((out_dir / "metadata.json").read_text())
    assert metadata["version"] == "efficientnet_lite0-lightgbm-1"
    assert metadata["training_data"]["n_groups"] == 10
    assert metadata["training_data"]["counts_per_class"]["Parabasal"] == 4
    assert "StratifiedGroupKFold" in metadata["validation"]["protocol"]
    assert len(metadata["validation"]["candidates"]) == 2
    assert set(metadata["validation"]["per_class"]) == set(metadata["classes"])
    assert metadata["head"]["sha256"] == file_sha256(out_dir / "head.txt")
    assert metadata["package_versions"]["lightgbm"]


def test_trained_artefact_loads_and_classifies(trained, tiny_dataset_dir):
    classifier = load_classifier(trained[1])
    image = sorted((tiny_dataset_dir / "Parabasal").iterdir())[0]
    assert classifier.predict_proba([Image.open(image)]).shape == (1, 5)


def test_features_are_cached_for_the_next_run(trained, tiny_dataset_dir, tmp_path):
    _, _, cache_dir = trained
    cached = sorted(cache_dir.glob("*.npz"))
    modified = [path.stat().st_mtime_ns for path in cached]
    train_and_evaluate(tiny_dataset_dir, tmp_path, image_size=64, n_folds=2,
                       candidates=TINY_CANDIDATES[:1], cache_dir=cache_dir, progress=False)
    assert len(cached) == 2
    assert [path.stat().st_mtime_ns for path in sorted(cache_dir.glob("*.npz"))] == modified
