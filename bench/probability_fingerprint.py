"""Probabilities of the shipped model on 200 fixed cells, saved or compared bit for bit.

    .venv/bin/python bench/probability_fingerprint.py --save /tmp/probs_before.npy
    ... refactor ...
    .venv/bin/python bench/probability_fingerprint.py --compare /tmp/probs_before.npy

A refactoring of the engine must not change a single prediction. The cells are the first 40
files (sorted by name) of each class folder of SIPaKMeD (``../shared/datasets/sipakmed``),
or the demo cells when that data set is not on this machine. The model is loaded through
the engine's loader, without Django, and predicts in float32 on 2 torch threads. Compare
prints the largest absolute difference and whether the arrays are exactly equal, and exits
with status 1 when they are not.
"""

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from diagnostics.engine import load_classifier  # noqa: E402

MODEL_DIR = REPO_ROOT / "diagnostics" / "trained_models" / "default"
SIPAKMED_DIR = REPO_ROOT.parent / "shared" / "datasets" / "sipakmed"
DEMO_CELLS_DIR = REPO_ROOT / "demo" / "sample_cells"
CELLS_PER_CLASS = 40


def fingerprint_cells():
    """The fixed cell files: 40 per SIPaKMeD class folder, else every demo cell."""
    if SIPAKMED_DIR.is_dir():
        class_dirs = sorted(path for path in SIPAKMED_DIR.iterdir() if path.is_dir())
        return [path for class_dir in class_dirs
                for path in sorted(class_dir.glob("*.png"))[:CELLS_PER_CLASS]]
    return sorted(DEMO_CELLS_DIR.glob("*.png"))


def probabilities(paths):
    classifier = load_classifier(MODEL_DIR)
    images = [Image.open(path).convert("RGB") for path in paths]
    return np.asarray(classifier.predict_proba(images))


def compare(current, saved_path):
    saved = np.load(saved_path)
    if saved.shape != current.shape:
        print(f"Shapes differ: saved {saved.shape}, now {current.shape}")
        return False
    equal = np.array_equal(saved, current)
    print(f"{len(current)} cells x {current.shape[1]} classes; max abs difference "
          f"{np.abs(saved - current).max():.3e}; exactly equal: {equal}")
    return equal


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--save", type=Path, help="write the probabilities to this .npy")
    action.add_argument("--compare", type=Path, help="compare with a .npy written by --save")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    paths = fingerprint_cells()
    current = probabilities(paths)
    if args.save:
        np.save(args.save, current)
        print(f"Saved probabilities of {len(paths)} cells to {args.save}")
        return 0
    return 0 if compare(current, args.compare) else 1


if __name__ == "__main__":
    sys.exit(main())
