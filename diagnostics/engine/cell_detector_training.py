"""Fitting and validating the nucleus detector on fields with marked nuclei (CRIC).

    fields = read_marked_fields("../shared/datasets/cric")
    detector, report = cross_validate_detector(fields, n_folds=5)

A field's marks are nucleus centres; marking is sparse (leukocytes and some cells are not
marked), so recall of the marks is the figure to trust and precision against them is a lower
bound. Folds are by image: all marks of one field are on the same side.
"""

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from . import cell_detector_context  # the two-stage design (registered in DETECTORS) and its candidates
from .cell_detector import (DETECTORS, best_score_per_mark, suppress_overlaps,
                            threshold_for_recall)
from .cells_csv import CELLS_CSV, read_cells_csv
from .datasets import grouped_kfold, load_image

MARKS_FILE = CELLS_CSV
# Chosen by grouped 5-fold validation on CRIC (bench/detector_accuracy.py): the boosted scorer
# reports about a quarter fewer unmarked candidates than the logistic at the same held-out
# recall, and its second stage on the patch around each survivor fewer again (bench/README.md).
DEFAULT_DETECTOR = "log-context-boosted"
# Bethesda categories from least to most severe: a field is stratified by its worst cell.
SEVERITY = ("Negative for intraepithelial lesion", "ASC-US", "LSIL", "ASC-H", "HSIL", "SCC")


@dataclass
class MarkedField:
    """One field of view: its image file, marked nucleus centres (N, 2) and worst category."""
    path: Path
    marks: np.ndarray
    worst_category: str

    @property
    def name(self):
        return self.path.name


def read_marked_fields(data_dir):
    """The fields of a CRIC-style folder: ``images/`` plus ``cells.csv`` (image, x, y, ...)."""
    data_dir = Path(data_dir)
    marks_path = data_dir / MARKS_FILE
    if not marks_path.is_file():
        raise FileNotFoundError(f"No {MARKS_FILE} in {data_dir}; expected a CRIC-style folder "
                                f"with images/ and {MARKS_FILE} (image, x, y per nucleus).")
    marks, categories = defaultdict(list), defaultdict(set)
    for cell in read_cells_csv(marks_path):
        marks[cell.image].append((cell.x, cell.y))
        categories[cell.image].add(cell.label)
    return [MarkedField(data_dir / "images" / name, np.asarray(points, dtype=float),
                        max(categories[name], key=_severity))
            for name, points in sorted(marks.items())]


def _severity(category):
    return SEVERITY.index(category) if category in SEVERITY else 0


def field_folds(fields, n_folds=5, seed=0):
    """(train, validation) index arrays; every field is one group, stratified by its worst
    category so each fold holds some abnormal fields."""
    labels = [field.worst_category for field in fields]
    groups = [field.name for field in fields]
    return grouped_kfold(labels, groups, n_splits=n_folds, seed=seed)


def label_candidates(candidates, marks, radius):
    """1 for candidates within ``radius`` pixels of a mark, else 0."""
    if not len(candidates) or not len(marks):
        return np.zeros(len(candidates), dtype=int)
    distance, _ = cKDTree(marks).query(np.column_stack([candidates.x, candidates.y]))
    return (distance <= radius).astype(int)


def fit_detector(detector, candidate_sets, mark_sets):
    """Fit ``detector`` (a ``NucleusDetector``) on precomputed candidates of fields
    with marks: its scorer, then the threshold giving ``target_recall``."""
    def labels_for(candidates, marks):
        return label_candidates(candidates, marks, detector.match_radius)

    if hasattr(detector, "fit_fields"):  # designs that fit stage by stage, field by field
        return detector.fit_fields(candidate_sets, mark_sets, labels_for)
    features = np.concatenate([c.features for c in candidate_sets]).astype(np.float64)
    labels = np.concatenate([labels_for(c, m) for c, m in zip(candidate_sets, mark_sets)])
    detector.fit_scorer(features, labels)
    best = np.concatenate([best_score_per_mark(detector, c, m)
                           for c, m in zip(candidate_sets, mark_sets)])
    detector.threshold_ = threshold_for_recall(best, detector.target_recall)
    return detector


def match_figures(detections, marks, radius=20.0):
    """Counts for one field: marks found (a detection within ``radius``), detections near a
    mark, and totals."""
    found = near = 0
    if len(detections) and len(marks):
        points = np.column_stack([detections.x, detections.y])
        found = int((cKDTree(points).query(marks)[0] <= radius).sum())
        near = int((cKDTree(marks).query(points)[0] <= radius).sum())
    return {"marks": len(marks), "found": found, "detections": len(detections),
            "near_mark": near}


def summarise(counts):
    """Recall, precision lower bound and detections per image from summed counts."""
    marks, detections = counts["marks"], counts["detections"]
    return {"images": counts["images"], "marks": marks,
            "recall": counts["found"] / marks if marks else None,
            "precision_lower_bound": counts["near_mark"] / detections if detections else None,
            "detections_per_image": detections / counts["images"] if counts["images"] else 0}


def add_counts(total, counts):
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value
    total["images"] = total.get("images", 0) + 1
    return total


def field_candidates(fields, scale=1.0, transform=None):
    """Candidates of every field with all their measurements (with their patch measurements: the slow
    part, done once for all folds and designs). ``transform``
    (image -> (image, factor)) tests a changed copy, e.g. grayscale or rescaled; marks are
    multiplied by ``factor``."""
    candidate_sets, mark_sets = [], []
    for field in fields:
        image, factor = load_image(field.path), 1.0
        if transform is not None:
            image, factor = transform(image)
        candidate_sets.append(
            cell_detector_context.find_candidates_with_context(image, scale=scale))
        mark_sets.append(field.marks * factor)
    return candidate_sets, mark_sets


def cross_validate_detector(fields, name=DEFAULT_DETECTOR, n_folds=5, seed=0, params=None,
                            extra_sets=None, progress=None, held_out_recall=None,
                            thresholds=()):
    """Grouped ``n_folds``-fold validation by image, then the detector fitted on all fields.

    ``extra_sets`` maps a name ("grayscale", "rescaled 0.75x") to (candidates, marks) of
    changed copies of the same fields, scored on each held-out fold with that fold's model.
    Each fold's detector reports what scores at least its own fitted threshold; with
    ``held_out_recall``, every fold and the detector returned use one threshold instead: the
    highest keeping that share of the marks on the folds' out-of-fold scores. ``thresholds``
    adds each set's figures at those thresholds ("curve"). Returns (detector, report) with
    per-fold and pooled figures.
    """
    params = params or {}
    candidate_sets, mark_sets = field_candidates(fields)
    extra_sets = {"original": (candidate_sets, mark_sets), **(extra_sets or {})}
    scored = {set_name: [None] * len(fields) for set_name in extra_sets}
    folds = field_folds(fields, n_folds, seed)
    fitted = []
    for fold, (train, held_out) in enumerate(folds):
        detector = fit_detector(DETECTORS.create(name, **params),
                                [candidate_sets[i] for i in train],
                                [mark_sets[i] for i in train])
        fitted.append(detector.threshold_)
        for set_name, (candidates, _) in extra_sets.items():
            for index in held_out:
                scored[set_name][index] = scored_detections(detector, candidates[index])
        if progress:
            progress(fold, {"threshold": detector.threshold_,
                            **figures_at(scored["original"], mark_sets, held_out,
                                         detector.threshold_, detector.match_radius)})
    detector = fit_detector(DETECTORS.create(name, **params), candidate_sets, mark_sets)
    if held_out_recall is not None:
        detector.threshold_ = threshold_for_recall(
            best_scores(scored["original"], mark_sets, detector.match_radius), held_out_recall)
        fitted = [detector.threshold_] * len(folds)
    report = {}
    for set_name, (_, marks) in extra_sets.items():
        radius = [detector.match_radius * _mark_scale(marks, i, mark_sets)
                  for i in range(len(fields))]
        per_fold = [{"fold": fold, "threshold": fitted[fold],
                     **figures_at(scored[set_name], marks, held_out, fitted[fold], radius)}
                    for fold, (_, held_out) in enumerate(folds)]
        pooled = {}
        for fold, (_, held_out) in enumerate(folds):
            add_fold_counts(pooled, scored[set_name], marks, held_out, fitted[fold], radius)
        report[set_name] = {"per_fold": per_fold, "pooled": summarise(pooled)}
        if len(thresholds):
            report[set_name]["curve"] = recall_curve(scored[set_name], marks, folds,
                                                     thresholds, radius)
    return detector, report


def scored_detections(detector, candidates):
    """Every candidate scored by ``detector``, overlaps suppressed, at no threshold: raising
    one afterwards gives what ``detect`` reports at it (suppression is greedy by score)."""
    kept = suppress_overlaps(detector.score_candidates(candidates), detector.overlap)
    kept.features = None
    return kept


def best_scores(detection_sets, mark_sets, radius):
    """Each mark's best score among its field's detections within ``radius`` (0 where none),
    all fields' marks in one array."""
    best = []
    for detections, marks in zip(detection_sets, mark_sets):
        found = np.zeros(len(marks))
        if len(detections) and len(marks):
            tree = cKDTree(np.column_stack([detections.x, detections.y]))
            for index, near in enumerate(tree.query_ball_point(marks, radius)):
                if near:
                    found[index] = detections.score[near].max()
        best.append(found)
    return np.concatenate(best) if best else np.zeros(0)


def add_fold_counts(total, detection_sets, mark_sets, indices, threshold, radius):
    """Add the match counts of the fields ``indices`` at ``threshold`` to ``total``."""
    radii = radius if np.ndim(radius) else [radius] * len(detection_sets)
    for index in indices:
        detections = detection_sets[index]
        add_counts(total, match_figures(detections.subset(detections.score >= threshold),
                                        mark_sets[index], radii[index]))
    return total


def figures_at(detection_sets, mark_sets, indices, threshold, radius):
    """Recall, precision lower bound and detections per image of the fields ``indices``."""
    return summarise(add_fold_counts({}, detection_sets, mark_sets, indices, threshold, radius))


def recall_curve(detection_sets, mark_sets, folds, thresholds, radius):
    """Pooled and per-fold figures of out-of-fold scores at each of ``thresholds``."""
    curve = []
    for threshold in thresholds:
        per_fold = [figures_at(detection_sets, mark_sets, held_out, threshold, radius)
                    for _, held_out in folds]
        pooled = figures_at(detection_sets, mark_sets,
                            np.concatenate([held_out for _, held_out in folds]), threshold,
                            radius)
        curve.append({"threshold": float(threshold), **pooled,
                      "recall_per_fold": [fold["recall"] for fold in per_fold]})
    return curve


# Thresholds at which train_detector records the out-of-fold figures (a recall curve).
CURVE_THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def train_detector_folder(data_dir, out_dir, name=DEFAULT_DETECTOR, version=None, n_folds=5,
                          seed=0, progress=None, held_out_recall=None):
    """Validate ``name`` on grouped folds of the CRIC-style ``data_dir``, fit it on every
    field and save it into ``out_dir`` with the figures. With ``held_out_recall``, the
    threshold is the highest keeping that share of the marks on the out-of-fold scores (see
    :func:`cross_validate_detector`). Returns the metadata written."""
    from .cell_detector_artefact import save_detector

    fields = read_marked_fields(data_dir)
    detector, report = cross_validate_detector(fields, name=name, n_folds=n_folds, seed=seed,
                                               progress=progress,
                                               held_out_recall=held_out_recall,
                                               thresholds=CURVE_THRESHOLDS)
    if held_out_recall is None:
        threshold = "threshold for target_recall on them"
    else:
        threshold = (f"one threshold for all folds and the shipped detector: the highest "
                     f"keeping {held_out_recall:g} of the marks on the pooled out-of-fold "
                     f"scores")
    validation = {
        "protocol": (f"grouped {n_folds}-fold cross-validation by image (seed {seed}, "
                     f"stratified by each field's worst Bethesda category): fit on "
                     f"{n_folds - 1} folds, {threshold}, scored on "
                     f"the held-out fold; a mark is found when a detection lies within "
                     f"match_radius px; precision counts detections within match_radius of "
                     f"a mark (a lower bound: marking is sparse)"),
        "data": {"folder": Path(data_dir).name, "images": len(fields),
                 "marks": int(sum(len(field.marks) for field in fields))},
        **({} if held_out_recall is None else {"held_out_recall": held_out_recall}),
        **report["original"],
    }
    save_detector(detector, out_dir, {"version": version or f"{name}-{seed}",
                                      "validation": validation})
    return detector.metadata_


def _mark_scale(marks, index, original_marks):
    # A rescaled copy's match radius scales with it (20 px at CRIC's size).
    original, changed = original_marks[index], marks[index]
    if not len(original) or original is changed:
        return 1.0
    return float(np.abs(changed).sum() / max(np.abs(original).sum(), 1e-9))
