"""Grouped 5-fold figures of the nucleus detector on CRIC, on the fields as they are and on
changed copies (grayscale, rescaled 0.75x and 1.5x), and its seconds per 1280 x 960 field.

    nice -n 5 .venv/bin/python bench/detector_accuracy.py                  # about 40 min, 2 cores
    .venv/bin/python bench/detector_accuracy.py --detectors log-context-boosted  # about 30 min
    .venv/bin/python bench/detector_accuracy.py --detectors log-logistic --sets original
    .venv/bin/python bench/detector_accuracy.py --inspect 4                # annotated PNGs
    .venv/bin/python bench/detector_accuracy.py --detectors log-context-boosted --sets original \
        --held-out-recall 0.95 --thresholds 0.1 0.2 0.3 0.4 0.5 0.6 0.7     # ~20 min

Folds are those of `train_detector` (by image, stratified by each field's worst category,
seed 0): each fold's detector is fitted on the other four and scores the held-out fields and
their changed copies. The copies are detected without being told their scale, except
"0.75x, told" (detect(image, scale=0.75), as `detect_cells --scale 0.75`). A rescaled
copy's marks and 20 px match radius are rescaled with it. --thresholds adds recall and
detections per field at those second-stage score thresholds, from the out-of-fold scores;
--held-out-recall R scores every fold at one threshold, the highest keeping R of the marks on
those scores (as `train_detector --held-out-recall R` ships it). --inspect writes held-out fields
with marks (green), detections near a mark (blue) and unmarked detections (red) to /tmp.
"""

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

from diagnostics.engine.cell_detector import DETECTORS  # noqa: E402
from diagnostics.engine.cell_detector_training import (  # noqa: E402
    cross_validate_detector, field_candidates, field_folds, fit_detector, read_marked_fields)
from diagnostics.engine.datasets import load_image  # noqa: E402

CRIC_DIR = REPO_ROOT.parent / "shared" / "datasets" / "cric"
# name: (image -> (changed image, factor of the marks), scale the detector is told)
CHANGED_COPIES = {
    "grayscale": (lambda image: (image.convert("L"), 1.0), 1.0),
    "rescaled 0.75x": (lambda image: (_rescale(image, 0.75), 0.75), 1.0),
    "rescaled 1.5x": (lambda image: (_rescale(image, 1.5), 1.5), 1.0),
    "0.75x, told": (lambda image: (_rescale(image, 0.75), 0.75), 0.75),
}


def _rescale(image, factor):
    size = (round(image.width * factor), round(image.height * factor))
    return image.resize(size, Image.Resampling.BILINEAR)


def seconds_per_field(detector, fields, repeats=5):
    """Median seconds of detector.detect on the first fields (1280 x 960, read already)."""
    images = [load_image(field.path) for field in fields[:repeats]]
    timings = []
    for image in images:
        started = time.perf_counter()
        detector.detect(image)
        timings.append(time.perf_counter() - started)
    return float(np.median(timings))


def format_table(name, report, seconds):
    lines = [f"\n{name}: {seconds:.2f} s per 1280x960 field (median, detection only)",
             f"{'set':<16}{'recall@20px per fold':<38}{'pooled':>8}{'prec>=':>8}{'det/img':>9}"]
    for set_name, figures in report.items():
        folds = " ".join(f"{fold['recall']:.3f}" for fold in figures["per_fold"])
        pooled = figures["pooled"]
        lines.append(f"{set_name:<16}{folds:<38}{pooled['recall']:>8.3f}"
                     f"{pooled['precision_lower_bound']:>8.3f}"
                     f"{pooled['detections_per_image']:>9.0f}")
    return "\n".join(lines)


def format_curve(set_name, curve):
    lines = [f"\n{set_name}: out-of-fold figures by threshold",
             f"{'threshold':>9}{'recall pooled':>15}{'per fold':>30}{'prec>=':>9}{'det/img':>9}"]
    for row in curve:
        folds = " ".join(f"{recall:.3f}" for recall in row["recall_per_fold"])
        lines.append(f"{row['threshold']:>9.2f}{row['recall']:>15.3f}{folds:>36}"
                     f"{row['precision_lower_bound']:>9.3f}{row['detections_per_image']:>9.0f}")
    return "\n".join(lines)


def inspect(fields, count, name):
    """Fit on folds 1-4, draw ``count`` held-out fields of fold 0 into /tmp."""
    train, held_out = field_folds(fields)[0]
    candidates, marks = field_candidates([fields[i] for i in train])
    detector = fit_detector(DETECTORS.create(name), candidates, marks)
    for index in held_out[:count]:
        field = fields[index]
        image = load_image(field.path)
        detections = detector.detect(image)
        near = cKDTree(field.marks).query(np.column_stack([detections.x, detections.y]))[0]
        draw = ImageDraw.Draw(image)
        for x, y in field.marks:
            draw.ellipse([x - 22, y - 22, x + 22, y + 22], outline=(0, 200, 0), width=2)
        for x, y, distance in zip(detections.x, detections.y, near):
            colour = (0, 0, 255) if distance <= 20 else (255, 0, 0)
            draw.ellipse([x - 5, y - 5, x + 5, y + 5], outline=colour, width=2)
        path = Path("/tmp") / f"detector_inspect_{field.path.stem[:8]}.png"
        image.save(path)
        print(f"{path}: {len(field.marks)} marks, {len(detections)} detections, "
              f"{int((near > 20).sum())} unmarked")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=CRIC_DIR)
    parser.add_argument("--detectors", nargs="+", default=["log-context-boosted", "log-boosted"],
                        choices=DETECTORS.names())
    parser.add_argument("--sets", nargs="+", default=["original", *list(CHANGED_COPIES)[:3]],
                        choices=["original", *CHANGED_COPIES])
    parser.add_argument("--inspect", type=int, default=0,
                        help="only draw this many held-out fields with their detections")
    parser.add_argument("--thresholds", nargs="+", type=float, default=[],
                        help="also print out-of-fold figures at these score thresholds")
    parser.add_argument("--held-out-recall", type=float, default=None,
                        help="score every fold at the highest threshold keeping this pooled "
                             "out-of-fold recall (default: each fold's own fitted threshold)")
    parser.add_argument("--json", type=Path, help="also save the figures here")
    args = parser.parse_args()
    fields = read_marked_fields(args.data)
    if args.inspect:
        inspect(fields, args.inspect, args.detectors[0])
        return
    copies = {name: field_candidates(fields, scale=CHANGED_COPIES[name][1],
                                     transform=CHANGED_COPIES[name][0])
              for name in args.sets if name != "original"}
    results = {}
    for name in args.detectors:
        detector, report = cross_validate_detector(fields, name=name, extra_sets=copies,
                                                   held_out_recall=args.held_out_recall,
                                                   thresholds=args.thresholds)
        report = {set_name: figures for set_name, figures in report.items()
                  if set_name in args.sets}
        seconds = seconds_per_field(detector, fields)
        results[name] = {"report": report, "seconds_per_field": seconds}
        print(format_table(name, report, seconds), flush=True)
        if args.held_out_recall is not None:
            print(f"one threshold for every fold: {detector.threshold_:.4f}")
        for set_name, figures in report.items():
            if "curve" in figures:
                print(format_curve(set_name, figures["curve"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
