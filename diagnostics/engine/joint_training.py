"""Train both cell models on one backbone: EfficientNet-Lite0 fine-tuned on SIPaKMeD's cells
and CRIC's crops together, the morphology head on its 1280 final features and the Bethesda
head on the same pass with its last three stages tapped (2528 features), so a worker serves
both models with one backbone pass a cell (serving.reads_pass_of).

    python -m diagnostics.engine.joint_training --sipakmed ../shared/datasets/sipakmed \\
        --cric ../shared/datasets/cric

Fine-tuning trains one 11-way linear layer (five morphology classes, six Bethesda
categories) on the final features, cells drawn in proportion to 1/sqrt of their class's
count (each data set gets about half of every epoch). Both data sets are split as their own
training splits them (grouped, stratified k-fold); fold k fine-tunes on the training cells
of fold k of both, so every out-of-fold prediction comes from a backbone and head that never
saw its cell or any cell of its group. Each model is calibrated on its own out-of-fold
predictions, then everything is fitted again on every cell. A fold's fine-tuned weights are
kept in ``work_dir`` under a name that hashes what made them, so an interrupted run resumes,
and so are the out-of-fold probabilities (``joint-KEY-out-of-fold.npz``) for bench scripts.
"""

import argparse
import dataclasses
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch

from .backbones import create_backbone, efficientnet_lite0_sipakmed_stages
from .calibration import DEFAULT_TARGET_ACCURACY
from .crops import DEFAULT_CROP_SIZE
from .designs import DEFAULT_HYBRID, create_hybrid
from .devices import DEVICES, resolve_torch_device
from .evaluation import out_of_fold_metrics, out_of_fold_probabilities
from .feature_cache import DEFAULT_CACHE_DIR
from .datasets import grouped_kfold
from .finetuning import FineTuning, fine_tune, load_weights, save_weights
from .training import (artefact_metadata, calibrate_out_of_fold, describe_training,
                       save_trained, training_data)

JOINT_FINE_TUNING = FineTuning(epochs=14, samples_per_epoch=4800, class_balance="sqrt")
BETHESDA_ON_JOINT_BACKBONE = "bethesda-sipakmed_stages-lightgbm"
DEFAULT_WORK_DIR = DEFAULT_CACHE_DIR.parent / "joint"
FINE_TUNED_ON = ("one EfficientNet-Lite0 from its ImageNet weights, fine-tuned on SIPaKMeD's "
                 "cells and CRIC's crops together through one 11-way linear layer on its "
                 "final features (five morphology classes, six Bethesda categories)")


@dataclasses.dataclass
class Part:
    """One data set and the model trained on it."""

    hybrid: str
    dataset: object
    groups: list
    source: dict
    folds: list
    labels: np.ndarray
    classes: list
    pixels: torch.Tensor = None
    recipe: object = None
    n_features: int | None = None  # the head reads the first n features (None: all)

    def features(self, features):
        return features[:, :self.n_features] if self.n_features else features


def train_joint(sipakmed_dir, cric_dir, morphology_out, bethesda_out, settings=JOINT_FINE_TUNING,
                n_folds=5, seed=0, cache_dir=DEFAULT_CACHE_DIR, work_dir=DEFAULT_WORK_DIR,
                versions=("efficientnet_lite0-joint-2", "bethesda-joint-2"), pretrained=True,
                progress=True, device="cpu", crop_size=DEFAULT_CROP_SIZE, overrides=None,
                target_accuracy=DEFAULT_TARGET_ACCURACY):
    """Validate, calibrate, fit and save the morphology model (into ``morphology_out``) and
    the Bethesda model reading its backbone's pass (into ``bethesda_out``); returns both
    metadata. ``overrides`` change the designs' settings (tests: a smaller image size)."""
    started = time.perf_counter()
    device = resolve_torch_device(device)
    overrides = {**(overrides or {}), "device": device}
    parts = [_part(DEFAULT_HYBRID, sipakmed_dir, cache_dir, crop_size, n_folds, seed),
             _part(BETHESDA_ON_JOINT_BACKBONE, cric_dir, cache_dir, crop_size, n_folds, seed)]
    for part in parts:
        part.recipe = create_hybrid(part.hybrid, pretrained=pretrained, **overrides)
        part.pixels = part.recipe.prepare_pixels(part.dataset.images())
    parts[0].n_features = parts[0].recipe.backbone_.num_features
    fine_tuning = _FineTuningRun(parts, settings, Path(work_dir), pretrained, device, progress,
                                 n_folds, seed)
    validations, probabilities = _validate(parts, fine_tuning, n_folds)
    _save_out_of_fold(Path(work_dir) / f"joint-{fine_tuning.key}-out-of-fold.npz", parts,
                      probabilities)
    calibrations = [calibrate_out_of_fold(probabilities[i], part.labels, part.classes,
                                          validations[i], target_accuracy)
                    for i, part in enumerate(parts)]
    if progress:
        print(f"Fine-tuning on all {sum(len(part.labels) for part in parts)} cells")
    weights = fine_tuning.weights(None)
    outs = (Path(morphology_out), Path(bethesda_out))
    saved = []
    for i, part in enumerate(parts):
        # The Bethesda backbone is built from the morphology model's saved weights file, so
        # its recorded weights are that file's (what serving checks to share the pass).
        source = weights if i == 0 else outs[0] / "backbone.pt"
        classifier, features = _fitted(part, source, settings, fine_tuned=i == 0)
        metadata = artefact_metadata(part.hybrid, classifier, part.dataset, part.groups,
                                     part.source, validations[i], n_folds, seed, versions[i])
        metadata["validation"]["protocol"] += _JOINT_PROTOCOL
        metadata["training_seconds"] = round(time.perf_counter() - started, 1)
        metadata["training_device"] = device
        saved.append(save_trained(classifier, features, part.labels, calibrations[i], outs[i],
                                  metadata))
    _describe_joint_fine_tuning(outs[0], saved[0], parts)
    return saved


_JOINT_PROTOCOL = ("; the backbone is fine-tuned on SIPaKMeD and CRIC together: each fold "
                   "fine-tunes it on the training cells of that fold of both data sets, so "
                   "no validation cell, nor any cell of its group, was seen by the backbone "
                   "or the head")


def _part(hybrid, data_dir, cache_dir, crop_size, n_folds, seed):
    dataset, groups, source = training_data(data_dir, cache_dir, crop_size=crop_size)
    labels = np.asarray(dataset.labels).astype(str)
    return Part(hybrid, dataset, groups, source,
                grouped_kfold(dataset.labels, groups, n_splits=n_folds, seed=seed),
                labels, sorted(set(labels.tolist())))


class _FineTuningRun:
    """Fine-tunes the joint backbone on chosen cells of every part; keeps the weights."""

    def __init__(self, parts, settings, work_dir, pretrained, device, progress, n_folds, seed):
        self.parts, self.settings, self.work_dir = parts, settings, work_dir
        self.pretrained, self.device, self.progress = pretrained, device, progress
        self.key = _run_key(parts, settings, pretrained, n_folds, seed)

    def weights(self, fold):
        """The weights file fine-tuned on fold ``fold``'s training cells of every part (None:
        every cell), made now unless an earlier run with the same inputs left it."""
        name = "all" if fold is None else f"fold{fold}"
        path = self.work_dir / f"joint-{self.key}-{name}.pt"
        if path.is_file():
            return path
        pixels, labels, offset = [], [], 0
        for part in self.parts:
            chosen = np.arange(len(part.labels)) if fold is None else part.folds[fold][0]
            pixels.append(part.pixels[chosen])
            labels.append(offset + np.searchsorted(part.classes, part.labels[chosen]))
            offset += len(part.classes)
        backbone = create_backbone("efficientnet_lite0", pretrained=self.pretrained)
        fine_tune(backbone, torch.cat(pixels), np.concatenate(labels),
                  self.parts[0].recipe.preprocessing_, self.settings, progress=self.progress,
                  device=self.device)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        save_weights(backbone, partial)
        partial.replace(path)
        return path


def _run_key(parts, settings, pretrained, n_folds, seed):
    described = {"settings": settings.to_dict(), "pretrained": pretrained, "folds": n_folds,
                 "seed": seed, "image_size": parts[0].recipe.image_size,
                 "data": [part.dataset.file_list_sha256() for part in parts]}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:12]


def _validate(parts, fine_tuning, n_folds):
    """Pooled out-of-fold metrics and probabilities of each part's model."""
    probabilities = [np.zeros((len(part.labels), len(part.classes))) for part in parts]
    accuracies = [[] for _ in parts]
    for fold in range(n_folds):
        weights = fine_tuning.weights(fold)
        for i, part in enumerate(parts):
            features = part.features(_stage_features(part, weights))

            def fit_and_predict(train, validation, part=part, features=features):
                classifier = part.recipe.clone().fit_features(features[train], part.labels[train])
                return classifier, classifier.predict_proba_features(features[validation])

            fold_probabilities, _, fold_accuracy = out_of_fold_probabilities(
                part.labels, [part.folds[fold]], fit_and_predict)
            probabilities[i] += fold_probabilities
            accuracies[i] += fold_accuracy
    validations = [out_of_fold_metrics(probabilities[i], part.classes, accuracies[i], part.labels)
                   for i, part in enumerate(parts)]
    return validations, probabilities


def _save_out_of_fold(path, parts, probabilities):
    arrays = {}
    for part, part_probabilities in zip(parts, probabilities):
        name = part.source["data_dir_name"]
        arrays.update({f"{name}_probabilities": part_probabilities,
                       f"{name}_labels": part.labels, f"{name}_classes": part.classes})
    np.savez(path, **arrays)


def _stage_features(part, weights):
    """Features (n, 2528) of every cell of ``part``, the backbone holding ``weights`` with
    its stages tapped; the first 1280 are the plain backbone's."""
    recipe = part.recipe
    recipe.backbone_ = efficientnet_lite0_sipakmed_stages(weights_path=weights)
    recipe.inference_backbone_ = None
    return recipe.pixel_features(part.pixels)[0]


def _fitted(part, weights, settings, fine_tuned):
    """``part``'s classifier on the backbone holding ``weights``, its head fitted on every
    cell, and the features it was fitted on: as fine-tuned (weights saved with it) or as a
    frozen backbone built from another model's weights file."""
    classifier = part.recipe.clone()
    if fine_tuned:
        # Built with the weights it started from, so the metadata names them too.
        start = create_backbone("efficientnet_lite0", pretrained=part.recipe.pretrained)
        classifier.backbone_ = load_weights(start, weights)
        classifier.fine_tuned_, classifier.fine_tuning = True, settings
    else:
        classifier.backbone_ = efficientnet_lite0_sipakmed_stages(weights_path=weights)
    classifier.preprocessing_ = part.recipe.preprocessing_
    features = part.features(_stage_features(part, weights))
    return classifier.fit_features(features, part.labels), features


def _describe_joint_fine_tuning(out_dir, metadata, parts):
    from .metadata import write_metadata

    metadata["backbone"]["fine_tuned"]["on"] = {
        "description": FINE_TUNED_ON,
        "cells": {part.source["data_dir_name"]: len(part.labels) for part in parts},
        "classes": [name for part in parts for name in part.classes]}
    write_metadata(out_dir, metadata)


def main(argv=None):
    shared = Path(__file__).resolve().parents[3] / "shared" / "datasets"
    models = Path(__file__).resolve().parents[1] / "trained_models"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sipakmed", type=Path, default=shared / "sipakmed")
    parser.add_argument("--cric", type=Path, default=shared / "cric")
    parser.add_argument("--morphology-out", type=Path, default=models / "default")
    parser.add_argument("--bethesda-out", type=Path, default=models / "bethesda")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for metadata in train_joint(args.sipakmed, args.cric, args.morphology_out, args.bethesda_out,
                                work_dir=args.work_dir, device=args.device):
        print(describe_training(metadata))


if __name__ == "__main__":
    main()
