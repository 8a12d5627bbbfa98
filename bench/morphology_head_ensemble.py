"""Would a second, linear head lower the morphology model's referral? (issue 17; by hand)

On the joint backbone's folds (diagnostics.engine.joint_training, whose fine-tuned fold
weights this reuses from its work folder: run it first), fits on each fold's training
SIPaKMeD cells the shipped LightGBM head and a multinomial logistic regression (the linear
explainer's model, on the same 1280 features), predicts the fold's validation cells, and
pools the five folds. For each head and for the mean of both: accuracy, the referral a
temperature and threshold fitted on the pooled predictions give at 99% kept accuracy (as
training fits them; also at 98% and 98.5%), and abnormal cells called normal and not
referred.

    .venv/bin/python bench/morphology_head_ensemble.py      # about 5 minutes on 2 cores
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diagnostics.engine import create_hybrid, grouped_kfold  # noqa: E402
from diagnostics.engine.backbones import create_backbone  # noqa: E402
from diagnostics.engine.calibration import apply_temperature, fit_calibration  # noqa: E402
from diagnostics.engine.designs import DEFAULT_HYBRID, FINE_TUNED_LIGHTGBM  # noqa: E402
from diagnostics.engine.finetuning import load_weights  # noqa: E402
from diagnostics.engine.heads import LightGBMHead  # noqa: E402
from diagnostics.engine.holdout import abnormal_missed_not_referred  # noqa: E402
from diagnostics.engine.joint_training import DEFAULT_WORK_DIR  # noqa: E402
from diagnostics.engine.linear_explainer import LinearExplainer  # noqa: E402
from diagnostics.engine.predictions import softmax  # noqa: E402
from diagnostics.engine.training import training_data  # noqa: E402

SIPAKMED = ROOT.parent / "shared" / "datasets" / "sipakmed"


def fold_features(recipe, pixels, weights, cache):
    if cache.is_file():
        return np.load(cache)
    recipe.backbone_ = load_weights(create_backbone("efficientnet_lite0", pretrained=False),
                                    weights)
    recipe.inference_backbone_ = None
    features = recipe.pixel_features(pixels)[0]
    np.save(cache, features)
    return features


def figures(probabilities, labels, classes):
    truth = np.searchsorted(classes, labels)
    calibration = fit_calibration(probabilities, truth)
    calibrated = apply_temperature(probabilities, calibration["temperature"])
    predicted = np.asarray(classes)[calibrated.argmax(axis=1)]
    kept = calibrated.max(axis=1) >= calibration["referral_threshold"]
    return {"accuracy": round(float(np.mean(predicted == labels)), 4),
            "referral_rate": round(calibration["referral_rate"], 4),
            "kept_accuracy": round(calibration["kept_accuracy"], 4),
            "abnormal_missed_not_referred": abnormal_missed_not_referred(
                labels, predicted, classes, kept),
            # The referral is a tail figure: how it moves with the kept accuracy asked for.
            "referral_rate_at": {target: round(fit_calibration(
                probabilities, truth, target)["referral_rate"], 4) for target in (0.98, 0.985)}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SIPAKMED)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK_DIR)
    args = parser.parse_args()
    torch.set_num_threads(2)
    dataset, groups, _ = training_data(args.data)
    labels = np.asarray(dataset.labels).astype(str)
    classes = sorted(set(labels.tolist()))
    folds = grouped_kfold(dataset.labels, groups, n_splits=5, seed=0)
    recipe = create_hybrid(DEFAULT_HYBRID, pretrained=False)
    pixels = recipe.prepare_pixels(dataset.images())
    pooled = {name: np.zeros((len(labels), len(classes))) for name in ("lightgbm", "linear")}
    for fold, (train, validation) in enumerate(folds):
        weights = next(args.work.glob(f"joint-*-fold{fold}.pt"))
        features = fold_features(recipe, pixels, weights,
                                 args.work / f"{weights.stem}-sipakmed-features.npy")
        head = LightGBMHead(**FINE_TUNED_LIGHTGBM).fit(features[train], labels[train])
        pooled["lightgbm"][validation] = head.predict_proba(features[validation])
        linear = LinearExplainer().fit(features[train], labels[train])
        pooled["linear"][validation] = softmax(linear.decision_function(features[validation]))
    pooled["mean of both"] = (pooled["lightgbm"] + pooled["linear"]) / 2
    print(json.dumps({name: figures(probabilities, labels, classes)
                      for name, probabilities in pooled.items()}, indent=2))


if __name__ == "__main__":
    main()
