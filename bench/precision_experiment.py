"""Accuracy and speed of the backbone in bfloat16 against float32, on SIPaKMeD.

    .venv/bin/python bench/precision_experiment.py                # all 3,230 cells
    .venv/bin/python bench/precision_experiment.py --limit 20     # smoke run, 20 cells/class

1. Out of sample (grouped 5-fold, the shipped model's folds): frozen ImageNet
   EfficientNet-Lite0 at 128 px (the shipped input size), identity view, LightGBM head.
   Each fold's head is trained on float32 features, as the shipped model's was, then predicts
   its held-out cells from float32 and from bfloat16 features; a third row trains and
   predicts on bfloat16. Accuracy figures pool the out-of-fold predictions.
2. The shipped model on every cell, in float32 and in bfloat16: how many predicted classes and
   referral flags change. These cells trained it, so its accuracy here is not a validation
   figure: only the agreement between the precisions is.
3. With ``--fine-tuned-fold K``, the shipped recipe (fine-tuning included, about 12 minutes)
   fitted on the training cells of fold K only, with the shipped calibration, then its
   held-out cells predicted in both precisions: the out-of-sample check of the real model.
Backbone cells/s: ``pixel_features`` on already prepared cells, best of ``--rounds``.
bfloat16 is only fast on CPUs that compute it natively (the script says whether this one does).
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.fusion_experiment import (best_seconds_per_prepared_cell,  # noqa: E402
                                     first_per_class, lightgbm_classifier)
from diagnostics.engine import (HybridClassifier, classification_metrics, group_keys,  # noqa: E402
                                grouped_kfold, list_image_folder, load_classifier)
from diagnostics.engine.artefact import recipe_classifier  # noqa: E402
from diagnostics.engine.feature_cache import DEFAULT_CACHE_DIR, cached_view_features  # noqa: E402
from diagnostics.engine.metadata import read_metadata  # noqa: E402
from diagnostics.engine.precision import BFLOAT16, FLOAT32, native_bfloat16  # noqa: E402

DATA_DIR = REPO_ROOT.parent / "shared" / "datasets" / "sipakmed"
SHIPPED_MODEL = REPO_ROOT / "diagnostics" / "trained_models" / "default"


def frozen_features(dataset, precision, cache_dir):
    extractor = HybridClassifier("efficientnet_lite0", image_size=128)
    extractor.set_inference_precision(precision)
    return cached_view_features(extractor, dataset, "identity", cache_dir, progress=False)


def out_of_fold_predictions(train_features, predict_features, labels, folds):
    predicted = np.empty(len(labels), dtype=object)
    for train_index, validation_index in folds:
        fold_classifier = lightgbm_classifier().fit_features(train_features[train_index],
                                                             labels[train_index])
        probabilities = fold_classifier.predict_proba_features(predict_features[validation_index])
        predicted[validation_index] = np.asarray(fold_classifier.classes_)[
            probabilities.argmax(axis=1)]
    return predicted


def out_of_sample_rows(dataset, labels, folds, cache_dir):
    features = {precision: frozen_features(dataset, precision, cache_dir)
                for precision in (FLOAT32, BFLOAT16)}
    reference = out_of_fold_predictions(features[FLOAT32], features[FLOAT32], labels, folds)
    rows = [("float32", "float32", reference)]
    rows.append(("float32", "bfloat16", out_of_fold_predictions(
        features[FLOAT32], features[BFLOAT16], labels, folds)))
    rows.append(("bfloat16", "bfloat16", out_of_fold_predictions(
        features[BFLOAT16], features[BFLOAT16], labels, folds)))
    classes = sorted(set(labels))
    lines = ["| head trained on | predicts from | accuracy | macro-F1 | Koilocytotic recall "
             "| Dyskeratotic recall | same class as float32 |", "|" + "---|" * 7]
    for trained, predicting, predicted in rows:
        metrics = classification_metrics(labels, predicted.astype(str), classes)
        agreement = np.mean(predicted == reference)
        lines.append(f"| {trained} | {predicting} | {metrics['accuracy']:.4f} | "
                     f"{metrics['macro_f1']:.4f} | "
                     f"{metrics['per_class']['Koilocytotic']['recall']:.4f} | "
                     f"{metrics['per_class']['Dyskeratotic']['recall']:.4f} | {agreement:.4f} |")
    return "\n".join(lines)


def shipped_model_agreement(dataset, model_dir, rounds):
    classifier = load_classifier(model_dir)
    pixels = classifier.prepare_pixels(list(dataset.images()))
    outcomes = {}
    for precision in (FLOAT32, BFLOAT16):
        classifier.set_inference_precision(precision)
        speed = 1 / best_seconds_per_prepared_cell(classifier, pixels[:512], rounds)
        probabilities = classifier.predict_proba_pixels(pixels)
        outcomes[precision] = (probabilities.argmax(axis=1),
                               classifier.needs_referral(probabilities), probabilities, speed)
    (classes32, refer32, proba32, speed32), (classes16, refer16, proba16, speed16) = (
        outcomes[FLOAT32], outcomes[BFLOAT16])
    largest_change = np.abs(proba32 - proba16).max(axis=1)
    return (f"shipped model, {len(pixels)} cells: backbone {speed32:.0f} cells/s float32, "
            f"{speed16:.0f} cells/s bfloat16; predicted class differs for "
            f"{int(np.sum(classes32 != classes16))}, referral flag for "
            f"{int(np.sum(refer32 != refer16))} (referred: {int(refer32.sum())} float32, "
            f"{int(refer16.sum())} bfloat16); largest probability change: median "
            f"{np.median(largest_change):.4f}, 99th percentile "
            f"{np.percentile(largest_change, 99):.4f}, max {largest_change.max():.4f}")


def fine_tuned_fold_comparison(dataset, labels, folds, fold, model_dir):
    metadata = read_metadata(model_dir)
    classifier = recipe_classifier(metadata)
    pixels = classifier.prepare_pixels(list(dataset.images()))
    train_index, validation_index = folds[fold]
    classifier.fit_pixels(pixels[train_index], labels[train_index], progress=True)
    classifier.calibrate(metadata["calibration"])
    held_out = labels[validation_index]
    lines, outcomes = [], {}
    for precision in (FLOAT32, BFLOAT16):
        classifier.set_inference_precision(precision)
        probabilities = classifier.predict_proba_pixels(pixels[validation_index])
        predicted = np.asarray(classifier.classes_)[probabilities.argmax(axis=1)]
        referred = classifier.needs_referral(probabilities)
        outcomes[precision] = (predicted, referred)
        kept = ~referred
        lines.append(f"  {precision}: accuracy {np.mean(predicted == held_out):.4f}, referred "
                     f"{int(referred.sum())}, accuracy of the cells kept "
                     f"{np.mean(predicted[kept] == held_out[kept]):.4f}")
    (predicted32, referred32), (predicted16, referred16) = outcomes[FLOAT32], outcomes[BFLOAT16]
    return "\n".join([
        f"shipped recipe fitted on fold {fold}'s training cells, {len(held_out)} held-out "
        f"cells: predicted class differs for {int(np.sum(predicted32 != predicted16))}, "
        f"referral flag for {int(np.sum(referred32 != referred16))}", *lines])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA_DIR))
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--limit", type=int, help="use only the first N images of each class")
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR))
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (best is kept)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--fine-tuned-fold", type=int, help="also fit the shipped recipe on "
                        "this fold's training cells (0-4) and compare on its held-out cells")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"bfloat16 native on this CPU: {native_bfloat16()}")

    dataset = first_per_class(list_image_folder(args.data), args.limit)
    labels = np.asarray(dataset.labels).astype(str)
    folds = grouped_kfold(labels, group_keys(dataset), 5, seed=0)
    print(f"{len(dataset)} images, 5 grouped folds (seed 0)")
    print(out_of_sample_rows(dataset, labels, folds, args.cache_dir))
    print(shipped_model_agreement(dataset, args.model, args.rounds))
    if args.fine_tuned_fold is not None:
        print(fine_tuned_fold_comparison(dataset, labels, folds, args.fine_tuned_fold,
                                         args.model))


if __name__ == "__main__":
    main()
