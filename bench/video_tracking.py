"""Counting each cell of a microscope video once: tracking against sampling frames far apart
(run by hand; measured on a synthetic pan across real CRIC fields).

A 640 x 480 camera window pans across a 1280 x 960 CRIC field, ``--step`` pixels a frame:
two pans (two videos), right across the top half and right across the bottom half. The cells of the pan are
the shipped detector's detections on the whole field inside the area the window covered
(the truth here: what detection finds when each cell is seen once). Each frame is detected
on its own, then counted three ways:

- every frame: each frame's detections added up (what storing frames as fields would count);
- tracked: diagnostics.engine.tracking.CellTracker (phase-correlation shift, nearest track
  within the radius), what the worker does;
- sampled: only frames far enough apart that their windows do not overlap (every
  ceil(640 / step)-th frame), each counted in full.

Each count is matched to the truth (within 20 px, in field coordinates): missed cells and
duplicates (a cell counted more than once).

    .venv/bin/python bench/video_tracking.py --fields 3 --step 40 80 160
"""
import argparse
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CRIC = ROOT.parent / "shared" / "datasets" / "cric" / "images"
DETECTOR = ROOT / "diagnostics" / "trained_models" / "detector"
WINDOW = (640, 480)
MATCH_PX = 20.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=3)
    parser.add_argument("--step", type=int, nargs="+", default=[40, 80, 160])
    parser.add_argument("--radius", type=float, default=20.0, help="tracking radius, px")
    return parser.parse_args()


def pan_offsets(field_size, step):
    """The window's top-left corners: right across the top half, then the bottom half."""
    width, height = field_size
    lefts = list(range(0, width - WINDOW[0] + 1, step))
    return [(left, top) for top in (0, height - WINDOW[1]) for left in lefts]


def counted_points(detections_by_frame, offsets, keep_masks):
    """The counted detections in field coordinates."""
    points = [np.column_stack([d.x[m] + left, d.y[m] + top])
              for d, (left, top), m in zip(detections_by_frame, offsets, keep_masks)]
    return np.vstack(points) if points else np.empty((0, 2))


def score(points, truth):
    """(counted, missed truth cells, duplicates) of ``points`` against ``truth``."""
    if not len(points):
        return 0, len(truth), 0
    distances, nearest = cKDTree(truth).query(points, k=1)
    hits = nearest[distances <= MATCH_PX]
    duplicates = len(hits) - len(np.unique(hits))
    return len(points), len(truth) - len(np.unique(hits)), duplicates


def truth_in_pan(detector, field, offsets):
    """Detections on the whole field inside the area the window covered (a margin of the
    match distance off the pan's outer edges, where a frame's detection may differ)."""
    whole = detector.detect(field)
    inside = np.zeros(len(whole), bool)
    for left, top in offsets:
        inside |= ((whole.x >= left) & (whole.x < left + WINDOW[0])
                   & (whole.y >= top) & (whole.y < top + WINDOW[1]))
    return np.column_stack([whole.x[inside], whole.y[inside]])


def measure(detector, field, step, radius):
    from diagnostics.engine.tracking import CellTracker

    offsets = pan_offsets(field.size, step)
    frames = [field.crop((left, top, left + WINDOW[0], top + WINDOW[1])) for left, top in offsets]
    detections = [detector.detect(frame) for frame in frames]
    truth = truth_in_pan(detector, field, offsets)
    every = [np.ones(len(d), bool) for d in detections]
    tracked, per_pan = [], len(offsets) // 2
    for start in (0, per_pan):  # each pan a video of its own, tracked from its first frame
        tracker = CellTracker(radius)
        tracked += [tracker.new_cells(frames[i], detections[i].x, detections[i].y,
                                      last=i == start + per_pan - 1)
                    for i in range(start, start + per_pan)]
    apart = math.ceil(WINDOW[0] / step)
    sampled = [np.full(len(d), (left // step) % apart == 0)
               for d, (left, _) in zip(detections, offsets)]
    return len(frames), len(truth), {
        "every frame": score(counted_points(detections, offsets, every), truth),
        "tracked": score(counted_points(detections, offsets, tracked), truth),
        f"sampled 1 in {apart}": score(counted_points(detections, offsets, sampled), truth),
    }


def main():
    from diagnostics.engine.cell_detector_artefact import load_detector

    args = parse_args()
    detector = load_detector(DETECTOR)
    paths = sorted(CRIC.glob("*.jpg"))[:args.fields]
    for step in args.step:
        totals, frames_total, truth_total = {}, 0, 0
        for path in paths:
            with Image.open(path) as image:
                field = image.convert("RGB")
            frames, truth, scores = measure(detector, field, step, args.radius)
            frames_total, truth_total = frames_total + frames, truth_total + truth
            for name, values in scores.items():
                totals[name] = [a + b for a, b in zip(totals.get(name, (0, 0, 0)), values)]
        print(f"step {step} px/frame: {frames_total} frames over {len(paths)} fields, "
              f"{truth_total} cells in the pans")
        for name, (counted, missed, duplicates) in totals.items():
            print(f"  {name:>14}: counted {counted} ({counted / truth_total:.2f}x), missed "
                  f"{missed} ({missed / truth_total:.1%}), counted twice or more {duplicates}")


if __name__ == "__main__":
    main()
