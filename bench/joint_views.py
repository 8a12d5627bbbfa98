"""Views and input size of the joint backbone's two models (issue 17; by hand)

On the joint backbone's folds (diagnostics.engine.joint_training: its fine-tuned fold
weights are reused from its work folder, and fine-tuned there by the same procedure where
missing, e.g. at another ``--image-size``), each model's head is fitted on each fold's
training cells and predicts the fold's validation cells, pooled over the folds asked for
(``--folds``), for: the head fitted on the identity view only or on every view (``--views``), and
predicting from the identity view only, the first two views averaged, or every view
averaged. Serving n views costs n backbone passes a cell; fitting on more views costs
nothing at serving time. Figures as the shipped models' training reports them: accuracy,
macro-F1, the referral at 99% kept accuracy (morphology), sensitivity at specificity 0.90
(Bethesda, abnormal = not NILM).

    .venv/bin/python bench/joint_views.py     # 25 minutes on 2 cores with the shipped folds
    .venv/bin/python bench/joint_views.py --image-size 160 --folds 0   # fine-tunes fold 0
    .venv/bin/python bench/joint_views.py --epochs 14 --folds 0
"""
import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diagnostics.engine.backbones import efficientnet_lite0_sipakmed_stages  # noqa: E402
from diagnostics.engine.calibration import apply_temperature, fit_calibration  # noqa: E402
from diagnostics.engine.designs import ALL_VIEWS, DEFAULT_HYBRID, create_hybrid  # noqa: E402
from diagnostics.engine.evaluation import classification_metrics  # noqa: E402
from diagnostics.engine.holdout import (abnormal_missed_not_referred,  # noqa: E402
                                        sensitivity_at_specificity)
from diagnostics.engine.joint_training import (  # noqa: E402
    BETHESDA_ON_JOINT_BACKBONE, DEFAULT_WORK_DIR, JOINT_FINE_TUNING, _FineTuningRun, _part)
from diagnostics.engine.feature_cache import DEFAULT_CACHE_DIR  # noqa: E402
from diagnostics.engine.crops import DEFAULT_CROP_SIZE  # noqa: E402

SHARED = ROOT.parent / "shared" / "datasets"


def view_features(part, weights, views, cache):
    """Stage features (n_views, n, 2528) of every cell of ``part`` under ``weights``."""
    paths = [cache.with_name(f"{cache.name}-{view}.npy") for view in views]
    missing = [view for view, path in zip(views, paths) if not path.is_file()]
    if missing:
        part.recipe.backbone_ = efficientnet_lite0_sipakmed_stages(weights_path=weights)
        part.recipe.inference_backbone_ = None
        computed = part.recipe.pixel_features(part.pixels, views=missing)
        for view, features in zip(missing, computed):
            np.save(cache.with_name(f"{cache.name}-{view}.npy"), features)
    return np.stack([np.load(path, mmap_mode="r") for path in paths])


def figures(part, probabilities, labels):
    classes = part.classes
    predicted = np.asarray(classes)[probabilities.argmax(axis=1)]
    metrics = classification_metrics(labels, predicted, classes, probabilities)
    result = {"accuracy": round(metrics["accuracy"], 4), "macro_f1": round(metrics["macro_f1"], 4)}
    truth = np.searchsorted(classes, labels)
    if "SCC" in classes:  # the Bethesda model
        at = sensitivity_at_specificity(probabilities, labels, classes)
        result["sensitivity_at_specificity_0.90"] = round(at["sensitivity"], 4)
        return result
    calibration = fit_calibration(probabilities, truth)
    calibrated = apply_temperature(probabilities, calibration["temperature"])
    kept = calibrated.max(axis=1) >= calibration["referral_threshold"]
    result.update({
        "referral_rate": round(calibration["referral_rate"], 4),
        "referral_rate_at_0.98": round(fit_calibration(probabilities, truth, 0.98)[
            "referral_rate"], 4),
        "abnormal_missed_not_referred": abnormal_missed_not_referred(
            labels, predicted, classes, kept)})
    return result


def evaluate(part, run, folds, views, fitted_on_all):
    name = part.source["data_dir_name"]
    served = {"1 view": 1, "2 views": 2, f"{len(views)} views": len(views)}
    pooled = {label: np.zeros((len(part.labels), len(part.classes))) for label in served}
    for fold in folds:
        train, validation = part.folds[fold]
        weights = run.weights(fold)
        features = part.features_of(view_features(
            part, weights, views, weights.with_name(f"{weights.stem}-{name}-stages")))
        fitting = features[:, train] if fitted_on_all else features[:1, train]
        classifier = part.recipe.clone().fit_features(np.asarray(fitting), part.labels[train])
        for label, n_views in served.items():
            pooled[label][validation] = classifier.predict_proba_features(
                np.asarray(features[:n_views, validation]))
        print(f"{name} fold {fold} done", file=sys.stderr, flush=True)
    chosen = np.concatenate([part.folds[fold][1] for fold in folds])
    return {label: figures(part, probabilities[chosen], part.labels[chosen])
            for label, probabilities in pooled.items()}


def joint_parts(args):
    parts = []
    for hybrid, data, n_features in ((DEFAULT_HYBRID, args.sipakmed, 1280),
                                     (BETHESDA_ON_JOINT_BACKBONE, args.cric, None)):
        part = _part(hybrid, data, DEFAULT_CACHE_DIR, DEFAULT_CROP_SIZE, 5, 0)
        part.recipe = create_hybrid(hybrid, pretrained=True, image_size=args.image_size)
        part.pixels = part.recipe.prepare_pixels(part.dataset.images())
        part.n_features = n_features
        part.features_of = (lambda f, n=n_features: f[:, :, :n])
        parts.append(part)
    return parts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sipakmed", type=Path, default=SHARED / "sipakmed")
    parser.add_argument("--cric", type=Path, default=SHARED / "cric")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=JOINT_FINE_TUNING.epochs)
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--views", nargs="+", default=["identity", "hflip", "vflip", "rot90"],
                        choices=ALL_VIEWS)
    parser.add_argument("--data-sets", nargs="+", default=["sipakmed", "cric"])
    args = parser.parse_args()
    torch.set_num_threads(2)
    parts = joint_parts(args)
    settings = dataclasses.replace(JOINT_FINE_TUNING, epochs=args.epochs)
    run = _FineTuningRun(parts, settings, args.work, True, "cpu", True, 5, 0)
    results = {}
    for part in parts:
        name = part.source["data_dir_name"]
        if name not in args.data_sets:
            continue
        for fitted_on_all in (False, True):
            label = f"{name}, head fitted on {'every view' if fitted_on_all else '1 view'}"
            results[label] = evaluate(part, run, args.folds, args.views, fitted_on_all)
            print(json.dumps({label: results[label]}, indent=2), flush=True)
    print(json.dumps({"image_size": args.image_size, "epochs": args.epochs, "folds": args.folds,
                      **results}, indent=2))


if __name__ == "__main__":
    main()
