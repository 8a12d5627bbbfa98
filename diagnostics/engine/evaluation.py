"""Validation figures: grouped cross-validation of a head and classification metrics."""

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.metrics import precision_recall_fscore_support

from .datasets import DEFAULT_GROUP_PATTERN, group_keys, grouped_kfold, list_image_folder
from .feature_cache import DEFAULT_CACHE_DIR, cached_view_features
from .artefact import recipe_classifier
from .metadata import read_metadata

ECE_BINS = 15


def classification_metrics(true_labels, predicted_labels, classes, probabilities=None):
    """Accuracy, macro-F1, per-class precision/recall/F1/support and confusion matrix.

    Confusion matrix rows are true classes, columns predicted classes, both in ``classes``
    order. With ``probabilities`` (n, len(classes)) the expected calibration error is
    added as ``ece``.
    """
    true_labels, predicted_labels = np.asarray(true_labels), np.asarray(predicted_labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        true_labels, predicted_labels, labels=classes, zero_division=0)
    per_class = {
        name: {"precision": float(precision[i]), "recall": float(recall[i]),
               "f1": float(f1[i]), "support": int(support[i])}
        for i, name in enumerate(classes)
    }
    metrics = {
        "accuracy": float(accuracy_score(true_labels, predicted_labels)),
        "macro_f1": float(f1_score(true_labels, predicted_labels, labels=classes,
                                   average="macro", zero_division=0)),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(true_labels, predicted_labels,
                                             labels=classes).tolist(),
    }
    if probabilities is not None:
        metrics["ece"] = expected_calibration_error(true_labels, probabilities, classes)
    return metrics


def expected_calibration_error(true_labels, probabilities, classes, n_bins=ECE_BINS):
    """Expected calibration error of the top-class confidence, in equal-width bins.

    Each prediction falls in the bin ``(k/n_bins, (k+1)/n_bins]`` holding its highest
    probability; ECE is the image-weighted mean gap between a bin's accuracy and its mean
    confidence (0 = confidences match how often the model is right).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if len(probabilities) == 0:
        return 0.0
    confidences = probabilities.max(axis=1)
    correct = np.asarray(classes)[probabilities.argmax(axis=1)] == np.asarray(true_labels)
    bins = np.clip(np.ceil(confidences * n_bins).astype(int) - 1, 0, n_bins - 1)
    gap = 0.0
    for index in np.unique(bins):
        in_bin = bins == index
        gap += in_bin.sum() * abs(correct[in_bin].mean() - confidences[in_bin].mean())
    return float(gap / len(probabilities))


def cross_validate(classifier, features, labels, folds):
    """Out-of-fold metrics of an unfitted :class:`HybridClassifier` on precomputed features.

    ``features`` is (n_views, n, d) as returned by ``extract_features``. Every image is
    predicted once, by a copy of ``classifier`` fitted on the folds that exclude its group;
    the pooled predictions give the figures, and per-fold accuracies show their spread.
    """
    def fit_and_predict(train_index, validation_index):
        fold_classifier = classifier.clone().fit_features(features[:, train_index],
                                                          labels[train_index])
        return fold_classifier, fold_classifier.predict_proba_features(
            features[:, validation_index])

    labels = np.asarray(labels).astype(str)
    return out_of_fold_metrics(*out_of_fold_probabilities(labels, folds, fit_and_predict),
                               labels)


def cross_validate_pixels(classifier, pixels, labels, folds, progress=False):
    """Like :func:`cross_validate`, from prepared pixels: each fold fits the whole recipe,
    fine-tuning included. Returns (metrics, out-of-fold probabilities, classes)."""
    def fit_and_predict(train_index, validation_index):
        fold_classifier = classifier.clone().fit_pixels(pixels[train_index],
                                                        labels[train_index], progress)
        return fold_classifier, fold_classifier.predict_proba_pixels(pixels[validation_index])

    labels = np.asarray(labels).astype(str)
    probabilities, classes, fold_accuracies = out_of_fold_probabilities(
        labels, folds, fit_and_predict)
    metrics = out_of_fold_metrics(probabilities, classes, fold_accuracies, labels)
    return metrics, probabilities, classes


def out_of_fold_probabilities(labels, folds, fit_and_predict):
    """Pool ``fit_and_predict(train_index, validation_index) -> (classifier, probabilities)``
    over ``folds``: returns (probabilities (n, n_classes), classes, per-fold accuracies)."""
    classes = sorted(set(labels.tolist()))
    probabilities = np.zeros((len(labels), len(classes)))
    fold_accuracies = []
    for train_index, validation_index in folds:
        fold_classifier, fold_probabilities = fit_and_predict(train_index, validation_index)
        # A fold may lack a class in training: its column stays 0 for those images.
        columns = [classes.index(name) for name in fold_classifier.classes_]
        probabilities[np.ix_(validation_index, columns)] = fold_probabilities
        fold_predicted = np.asarray(classes)[probabilities[validation_index].argmax(axis=1)]
        fold_accuracies.append(float(np.mean(fold_predicted == labels[validation_index])))
    return probabilities, classes, fold_accuracies


def out_of_fold_metrics(probabilities, classes, fold_accuracies, labels):
    predicted = np.asarray(classes)[probabilities.argmax(axis=1)]
    metrics = classification_metrics(labels, predicted, classes, probabilities)
    metrics["per_fold_accuracy"] = fold_accuracies
    return metrics


def evaluate(classifier, images, labels):
    """Metrics of a fitted classifier on labelled PIL images (an independent test set)."""
    classes = list(classifier.classes_)
    probabilities = classifier.predict_proba(images)
    predicted = np.asarray(classes)[probabilities.argmax(axis=1)]
    return classification_metrics(labels, predicted, classes, probabilities)


def format_validation_table(metrics, classes=None):
    """A plain-text table of per-class precision/recall/F1 and the overall figures."""
    classes = classes or list(metrics["per_class"])
    width = max(len(name) for name in classes + ["macro-F1"])
    lines = [f"{'class':<{width}}  precision  recall     F1  support"]
    for name in classes:
        row = metrics["per_class"][name]
        lines.append(f"{name:<{width}}  {row['precision']:9.3f}  {row['recall']:6.3f}  "
                     f"{row['f1']:5.3f}  {row['support']:7d}")
    lines.append(f"{'accuracy':<{width}}  {metrics['accuracy']:.3f}")
    lines.append(f"{'macro-F1':<{width}}  {metrics['macro_f1']:.3f}")
    if "per_fold_accuracy" in metrics:
        folds = metrics["per_fold_accuracy"]
        lines.append(f"per-fold accuracy: {', '.join(f'{a:.3f}' for a in folds)} "
                     f"(sd {np.std(folds):.3f})")
    lines.append("confusion matrix (rows true, columns predicted, in class order above):")
    lines.extend("  " + " ".join(f"{count:5d}" for count in row)
                 for row in metrics["confusion_matrix"])
    return "\n".join(lines)


def format_markdown_table(metrics, classes=None):
    """The paper's table as Markdown: per-class precision/recall/F1/support, then accuracy,
    macro-F1 and (when present) ECE."""
    classes = classes or list(metrics["per_class"])
    lines = ["| Class | Precision | Recall | F1 | Support |", "|---|---:|---:|---:|---:|"]
    for name in classes:
        row = metrics["per_class"][name]
        lines.append(f"| {_markdown_cell(name)} | {row['precision']:.3f} | "
                     f"{row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |")
    lines += ["", "| Metric | Value |", "|---|---:|",
              f"| Accuracy | {metrics['accuracy']:.3f} |",
              f"| Macro-F1 | {metrics['macro_f1']:.3f} |"]
    if "ece" in metrics:
        lines.append(f"| ECE ({ECE_BINS} bins) | {metrics['ece']:.3f} |")
    if "per_fold_accuracy" in metrics:
        folds = metrics["per_fold_accuracy"]
        lines.append(f"| Per-fold accuracy (sd) | {', '.join(f'{a:.3f}' for a in folds)} "
                     f"({np.std(folds):.3f}) |")
    return "\n".join(lines)


def _markdown_cell(text):
    return str(text).replace("|", "\\|")


def save_confusion_matrix_png(matrix, classes, path, title="Confusion matrix"):
    """Draw ``matrix`` (rows true, columns predicted, in ``classes`` order) as a PNG.

    Cells are shaded by the share of their row, so each class's recall reads at a glance;
    every cell shows its count. Returns ``path``.
    """
    matrix = np.asarray(matrix, dtype=int)
    font = _font(14)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    cell = max(48, int(measure.textlength(str(matrix.max(initial=0)), font=font)) + 16)
    label_width = max(int(measure.textlength(name, font=font)) for name in classes) + 16
    left, top = label_width + 24, label_width + 56
    size = (left + cell * len(classes) + 16, top + cell * len(classes) + 16)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((8, 8), title, fill="black", font=font)
    draw.text((left, 30), "predicted", fill="black", font=font)
    _draw_vertical_text(image, "true", (4, top), font)
    row_totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    for i, name in enumerate(classes):
        draw.text((24, top + i * cell + cell // 2), name, fill="black", font=font, anchor="lm")
        _draw_vertical_text(image, name, (left + i * cell + cell // 2 - 8, top - 6), font,
                            bottom_aligned=True)
        for j in range(len(classes)):
            _draw_cell(draw, (left + j * cell, top + i * cell), cell,
                       matrix[i, j], matrix[i, j] / row_totals[i, 0], font)
    image.save(path, format="PNG")
    return path


def _draw_cell(draw, corner, cell, count, share, font):
    x, y = corner
    shade = int(255 - 200 * share)
    draw.rectangle([x, y, x + cell, y + cell], fill=(shade, shade, 255), outline="grey")
    colour = "white" if share > 0.5 else "black"
    draw.text((x + cell // 2, y + cell // 2), str(count), fill=colour, font=font, anchor="mm")


def _draw_vertical_text(image, text, corner, font, bottom_aligned=False):
    _, _, right, bottom = ImageDraw.Draw(image).textbbox((0, 0), text, font=font)
    label = Image.new("RGB", (right + 2, bottom + 2), "white")
    ImageDraw.Draw(label).text((0, 0), text, fill="black", font=font)
    rotated = label.rotate(90, expand=True)
    x, y = corner
    image.paste(rotated, (x, y - rotated.height if bottom_aligned else y))


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError):  # Pillow without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


def cross_validate_recipe(data_dir, model_dir, n_folds=5, group_pattern=DEFAULT_GROUP_PATTERN,
                          seed=0, cache_dir=None, progress=True):
    """Grouped k-fold figures of a saved model's recipe, re-fitted per fold on ``data_dir``.

    The recipe is the backbone, preprocessing, views and head hyperparameters in the
    model's ``metadata.json``; its fitted head is not used, so any folder-per-class data
    set (any class names) can be evaluated. Features are cached like in training. Returns
    a report dict (model, recipe, data, protocol, metrics) for :func:`write_evaluation`.
    """
    started = time.perf_counter()
    metadata = read_metadata(model_dir)
    classifier = recipe_classifier(metadata)
    dataset = list_image_folder(data_dir)
    groups = group_keys(dataset, group_pattern)
    folds = grouped_kfold(dataset.labels, groups, n_splits=n_folds, seed=seed)
    if classifier.fine_tuning is not None:
        pixels = classifier.prepare_pixels(dataset.images())
        metrics, _, _ = cross_validate_pixels(classifier, pixels, dataset.labels, folds,
                                              progress)
    else:
        features = np.stack([
            cached_view_features(classifier, dataset, view, cache_dir or DEFAULT_CACHE_DIR,
                                 progress) for view in classifier.views])
        metrics = cross_validate(classifier, features, dataset.labels, folds)
    return {
        "model": {"version": metadata.get("version"), "name": metadata.get("name"),
                  "dir": str(model_dir)},
        "recipe": _recipe_summary(classifier),
        "data": {"data_dir": str(data_dir), "n_images": len(dataset),
                 "counts_per_class": dataset.counts_per_class(), "n_groups": len(set(groups)),
                 "group_pattern": group_pattern,
                 "file_list_sha256": dataset.file_list_sha256()},
        "protocol": (f"StratifiedGroupKFold, {n_folds} folds, shuffled with seed {seed}; no "
                     "group spans train and validation; the recipe is re-fitted on each "
                     "fold's training images and the figures pool the out-of-fold "
                     "predictions of all images"),
        "classes": dataset.classes,
        "metrics": metrics,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _recipe_summary(classifier):
    fine_tuning = classifier.fine_tuning.to_dict() if classifier.fine_tuning else None
    return {"backbone": classifier.backbone, "pretrained": classifier.pretrained,
            "image_size": classifier.image_size, "views": list(classifier.views),
            "clahe": classifier.clahe, "fine_tuning": fine_tuning,
            "head": {"kind": classifier.head.kind, "params": classifier.head.get_params()}}


def write_evaluation(report, out_dir):
    """Save ``evaluation.json``, ``evaluation.md`` and ``confusion_matrix.png`` of a
    :func:`cross_validate_recipe` report into ``out_dir``; returns the three paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / name for name in
             ("evaluation.json", "evaluation.md", "confusion_matrix.png")]
    paths[0].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(format_evaluation_markdown(report) + "\n", encoding="utf-8")
    save_confusion_matrix_png(report["metrics"]["confusion_matrix"], report["classes"],
                              paths[2], title=f"{report['model']['version']}: out-of-fold")
    return paths


def format_evaluation_markdown(report):
    """A Markdown page for a :func:`cross_validate_recipe` report: what, how, the table."""
    recipe, data = report["recipe"], report["data"]
    return "\n".join([
        f"# Evaluation of {report['model']['version']}", "",
        f"- Recipe: {recipe['backbone']} at {recipe['image_size']} px, views "
        f"{', '.join(recipe['views'])}, {recipe['head']['kind']} head",
        f"- Data: {data['n_images']} images in {len(report['classes'])} classes, "
        f"{data['n_groups']} groups (`{data['group_pattern']}`)",
        f"- Protocol: {report['protocol']}", "",
        format_markdown_table(report["metrics"], report["classes"]),
    ])
