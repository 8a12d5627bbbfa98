"""External validation: a trained model scored as it is on labelled cells it never saw.

Labs must verify a method on their own material before it goes live. Nothing is re-fitted
here: the saved head, calibration and referral threshold predict the holdout cells, and the
figures say how the model would have done on them.

    report = evaluate_holdout(load_classifier("models/v1"), "lab_cells/")
    report["metrics"]["abnormal"]["sensitivity"], report["metrics"]["referral_rate"]

A holdout folder is either one sub-folder of cell images per class, or a CRIC-layout folder:
``images/`` with the fields of view and ``cells.csv`` (``image, cell_id, bethesda_system,
x, y``), whose cells are cut around their nucleus centres as the slide pipeline cuts them.
"""

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from .cells_csv import CELLS_CSV, read_cells_csv
from .checksums import file_sha256
from .crops import DEFAULT_CROP_SIZE, cut_cell_crops
from .datasets import list_image_folder
from .evaluation import classification_metrics
from .served_model import NILM_NAMES

# SIPaKMeD's abnormal morphology classes; any other class set is read as Bethesda, where
# every category but "negative" (NILM) is abnormal.
SIPAKMED_ABNORMAL = ("Dyskeratotic", "Koilocytotic")


def abnormal_classes(classes):
    """The classes counted as abnormal in the abnormal-vs-normal figures."""
    if set(SIPAKMED_ABNORMAL) & set(classes):
        return [name for name in classes if name in SIPAKMED_ABNORMAL]
    return [name for name in classes if name.strip().lower() not in NILM_NAMES]


def crop_size_of(metadata):
    """The crop size a model's cells are cut at (``metadata["crop"]["size"]``), else the
    product's default."""
    crop = (metadata or {}).get("crop") or {}
    return int(crop.get("size") or (metadata or {}).get("crop_size") or DEFAULT_CROP_SIZE)


def read_holdout(path, crop_size=DEFAULT_CROP_SIZE):
    """(PIL images, labels, description) of a holdout folder in either layout."""
    path = Path(path)
    if (path / CELLS_CSV).is_file() and (path / "images").is_dir():
        return _read_cric_layout(path, crop_size)
    if not path.is_dir():
        raise FileNotFoundError(f"Holdout folder {path} does not exist; pass a folder with one "
                                f"sub-folder of images per class, or images/ + {CELLS_CSV}.")
    dataset = list_image_folder(path)
    return (list(dataset.images()), list(dataset.labels),
            {"layout": "folder per class", "n_images": len(dataset),
             "file_list_sha256": dataset.file_list_sha256()})


def _read_cric_layout(path, crop_size):
    cells = read_cells_csv(path / CELLS_CSV)
    images, labels = [], []
    for image_name, rows in cells.groupby_image().items():
        field_path = path / "images" / image_name
        if not field_path.is_file():
            raise FileNotFoundError(f"{CELLS_CSV} names {image_name}, which is not in "
                                    f"{path / 'images'}; restore it or remove its rows.")
        with Image.open(field_path) as field:
            images += cut_cell_crops(field, [(row.x, row.y) for row in rows], crop_size)
        labels += [row.label for row in rows]
    return images, labels, {"layout": f"images/ + {CELLS_CSV}", "n_images": len(images),
                            "n_fields": len(cells.groupby_image()), "crop_size": crop_size,
                            "file_list_sha256": cric_file_list_sha256(path, cells)}


def cric_file_list_sha256(path, cells):
    """sha256 naming what a CRIC-layout holdout held: its fields' names and the exact
    ``cells.csv`` (labels and centres), so two evaluations on the same cells match."""
    listing = [f"{CELLS_CSV} {file_sha256(Path(path) / CELLS_CSV)}"]
    listing += sorted(f"images/{name}" for name in cells.groupby_image())
    return hashlib.sha256("\n".join(listing).encode("utf-8")).hexdigest()


def evaluate_holdout(classifier, path, progress=False):
    """Score the fitted, saved ``classifier`` as it is on the labelled cells in ``path``.

    Returns a report dict: ``model``, ``data``, ``classes`` and ``metrics`` with
    ``accuracy``, ``macro_f1``, ``per_class``, ``confusion_matrix`` (rows true, columns
    predicted, in ``classes`` order), ``abnormal`` (sensitivity and specificity of
    abnormal-vs-normal), ``referral_rate`` and ``accuracy_not_referred``. Raises ValueError
    when the holdout has labels the model does not know.
    """
    metadata = getattr(classifier, "metadata_", {}) or {}
    classes = list(classifier.classes_)
    images, labels, data = read_holdout(path, crop_size_of(metadata))
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise ValueError(f"The holdout set has labels the model does not know: "
                         f"{', '.join(unknown)}. The model's classes are: {', '.join(classes)}. "
                         f"Rename the folders (or cells.csv labels) to the model's classes.")
    if not images:
        raise ValueError(f"The holdout set {path} holds no cells to score.")
    probabilities = np.asarray(classifier.predict_proba(images))
    metrics = holdout_metrics(labels, probabilities, classes,
                              classifier.needs_referral(probabilities))
    return {
        "kind": "holdout",
        "model": {"version": metadata.get("version"), "name": metadata.get("name")},
        "data": {"path": str(path), **data,
                 "counts_per_class": {name: labels.count(name) for name in sorted(set(labels))}},
        "protocol": "the saved model scored as it is (no re-fitting) on cells it never saw",
        "classes": classes,
        "metrics": metrics,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def holdout_metrics(labels, probabilities, classes, referrals):
    """The holdout figures of predictions ``probabilities`` (n, len(classes)) of ``labels``
    with the model's referral flags."""
    labels = np.asarray(labels).astype(str)
    referrals = np.asarray(referrals, dtype=bool)
    predicted = np.asarray(classes)[probabilities.argmax(axis=1)]
    metrics = classification_metrics(labels, predicted, classes, probabilities)
    abnormal = abnormal_classes(classes)
    metrics["abnormal"] = abnormal_figures(np.isin(labels, abnormal), np.isin(predicted, abnormal))
    metrics["abnormal"]["classes"] = abnormal
    kept = ~referrals
    metrics["referral_rate"] = float(referrals.mean())
    metrics["n_not_referred"] = int(kept.sum())
    metrics["accuracy_not_referred"] = (float(np.mean(predicted[kept] == labels[kept]))
                                        if kept.any() else None)
    metrics["abnormal_missed_not_referred"] = abnormal_missed_not_referred(
        labels, predicted, classes, kept)
    return metrics


def abnormal_missed_not_referred(labels, predicted, classes, kept):
    """Abnormal cells (see :func:`abnormal_classes`) called normal and kept (not referred to
    a cytologist): the safety figure."""
    abnormal = abnormal_classes(classes)
    return int(np.sum(np.isin(labels, abnormal) & ~np.isin(predicted, abnormal) & kept))


def abnormal_figures(truly_abnormal, called_abnormal):
    """Sensitivity (abnormal cells called abnormal) and specificity (normal called normal);
    None where the holdout has no cell of that kind."""
    truly_abnormal, called_abnormal = np.asarray(truly_abnormal), np.asarray(called_abnormal)
    n_abnormal, n_normal = int(truly_abnormal.sum()), int((~truly_abnormal).sum())
    true_positive = int(np.sum(truly_abnormal & called_abnormal))
    true_negative = int(np.sum(~truly_abnormal & ~called_abnormal))
    return {"sensitivity": true_positive / n_abnormal if n_abnormal else None,
            "specificity": true_negative / n_normal if n_normal else None,
            "n_abnormal": n_abnormal, "n_normal": n_normal}


def sensitivity_at_specificity(probabilities, labels, classes, specificity=0.90):
    """Abnormal-vs-normal figures of probabilities (n, len(classes)) of ``labels`` at the
    threshold on the summed abnormal-class probability that keeps specificity at least
    ``specificity``: ``sensitivity``, ``specificity`` and ``threshold`` (None without both
    kinds of cell)."""
    abnormal = abnormal_classes(classes)
    scores = np.asarray(probabilities)[:, [list(classes).index(name) for name in abnormal]]
    scores = scores.sum(axis=1)
    truly_abnormal = np.isin(np.asarray(labels).astype(str), abnormal)
    normal_scores = np.sort(scores[~truly_abnormal])
    if not len(normal_scores) or not truly_abnormal.any():
        return {"sensitivity": None, "specificity": None, "threshold": None}
    threshold = normal_scores[int(np.ceil(specificity * len(normal_scores))) - 1]
    return {"sensitivity": float(np.mean(scores[truly_abnormal] > threshold)),
            "specificity": float(np.mean(normal_scores <= threshold)),
            "threshold": float(threshold), "abnormal_classes": abnormal}


def format_holdout_report(report):
    """A plain-text summary of an :func:`evaluate_holdout` report."""
    metrics, classes = report["metrics"], report["classes"]
    abnormal = metrics["abnormal"]
    width = max(len(name) for name in classes)
    lines = [f"Holdout evaluation of {report['model']['version']} on {report['data']['path']} "
             f"({report['data']['n_images']} cells, {report['data']['layout']})",
             f"{'class':<{width}}  precision  recall  support"]
    for name in classes:
        row = metrics["per_class"][name]
        lines.append(f"{name:<{width}}  {row['precision']:9.3f}  {row['recall']:6.3f}  "
                     f"{row['support']:7d}")
    lines += [f"accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}",
              f"abnormal ({', '.join(abnormal['classes'])}) vs normal: sensitivity "
              f"{_figure(abnormal['sensitivity'])}, specificity {_figure(abnormal['specificity'])}",
              f"referred to a cytologist: {metrics['referral_rate']:.1%}; accuracy of the cells "
              f"not referred: {_figure(metrics['accuracy_not_referred'])}; abnormal cells missed "
              f"and not referred: {metrics['abnormal_missed_not_referred']}",
              "confusion matrix (rows true, columns predicted): " + ", ".join(classes)]
    lines += ["  " + " ".join(f"{count:5d}" for count in row)
              for row in metrics["confusion_matrix"]]
    return "\n".join(lines)


def _figure(value):
    return "n/a" if value is None else f"{value:.3f}"
