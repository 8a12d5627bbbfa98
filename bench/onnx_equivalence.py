"""The ONNX-served model against the torch one: probabilities, heat maps and speed (by hand).

    .venv/bin/python bench/onnx_equivalence.py            # 500 SIPaKMeD cells, 2 threads
    .venv/bin/python bench/onnx_equivalence.py --cells 100 --heatmaps 16
    .venv/bin/python bench/onnx_equivalence.py --model diagnostics/trained_models/bethesda \
        --heatmaps 0

Loads the shipped model (or ``--model DIR``) twice through the engine
(``runtime="torch"`` and ``runtime="onnx"``:
OpenVINO where installed, else ONNX Runtime),
predicts the same cells (the first ``cells / 5`` files of each SIPaKMeD class folder, sorted
by name) and prints the largest absolute difference of the probabilities (target: below
1e-4) and of the backbone features, whether any predicted class or referral flag differs,
the largest difference of the Grad-CAM overlays' pixels (0-255) for the first
``--heatmaps`` cells, and the seconds per cell of each runtime's prediction (decoding
excluded). Exits with status 1 above 1e-4.
"""

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from diagnostics.engine import load_classifier  # noqa: E402
from diagnostics.engine.explain import grad_cam_overlays  # noqa: E402

MODEL_DIR = REPO_ROOT / "diagnostics" / "trained_models" / "default"
SIPAKMED_DIR = REPO_ROOT.parent / "shared" / "datasets" / "sipakmed"
TOLERANCE = 1e-4


def cells(count):
    class_dirs = sorted(path for path in SIPAKMED_DIR.iterdir() if path.is_dir())
    per_class = -(-count // len(class_dirs))
    paths = [path for class_dir in class_dirs
             for path in sorted(class_dir.glob("*.png"))[:per_class]][:count]
    return [Image.open(path).convert("RGB") for path in paths]


def timed_probabilities(classifier, pixels, rounds=2):
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        probabilities = classifier.predict_proba_pixels(pixels)
        best = min(best, time.perf_counter() - started)
    return probabilities, best / len(pixels)


def compare_heat_maps(by_torch, by_onnx, images, probabilities):
    names = [by_torch.classes_[index] for index in probabilities.argmax(1)]
    torch_overlays = [np.asarray(o, dtype=np.int16)
                      for o in grad_cam_overlays(by_torch, images, names)]
    onnx_overlays = [np.asarray(o, dtype=np.int16)
                     for o in grad_cam_overlays(by_onnx, images, names)]
    pixel_differences = np.abs(np.stack(torch_overlays) - np.stack(onnx_overlays))
    print(f"heat-map overlays of {len(images)} cells: max pixel difference "
          f"{pixel_differences.max()} of 255, mean {pixel_differences.mean():.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--heatmaps", type=int, default=24,
                        help="cells whose overlays are compared; 0 for a Bethesda model, whose "
                             "explainer reads the stage features (heat maps are the "
                             "morphology model's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", type=Path, default=MODEL_DIR, help="model folder")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    images = cells(args.cells)
    by_torch = load_classifier(args.model, runtime="torch")
    by_onnx = load_classifier(args.model, runtime="onnx", threads=args.threads)
    torch_probabilities, torch_seconds = timed_probabilities(
        by_torch, by_torch.prepare_pixels(images))
    onnx_probabilities, onnx_seconds = timed_probabilities(
        by_onnx, by_onnx.prepare_pixels(images))
    difference = float(np.abs(torch_probabilities - onnx_probabilities).max())
    pixels = by_onnx.prepare_pixels(images)
    feature_difference = float(np.abs(by_torch.pixel_features(pixels)
                                      - by_onnx.pixel_features(pixels)).max())
    same_classes = np.array_equal(torch_probabilities.argmax(1), onnx_probabilities.argmax(1))
    same_referrals = np.array_equal(by_torch.needs_referral(torch_probabilities),
                                    by_onnx.needs_referral(onnx_probabilities))
    print(f"{by_torch.version}: {len(images)} SIPaKMeD cells, {args.threads} threads, "
          f"providers {by_onnx.backbone_.providers}")
    print(f"probabilities: max abs difference {difference:.2e} (tolerance {TOLERANCE:.0e}); "
          f"same predicted classes: {same_classes}; same referrals: {same_referrals}")
    print(f"backbone features: max abs difference {feature_difference:.2e}")
    if args.heatmaps:
        compare_heat_maps(by_torch, by_onnx, images[:args.heatmaps],
                          torch_probabilities[:args.heatmaps])
    print(f"prediction time per cell: torch {1000 * torch_seconds:.2f} ms, "
          f"{', '.join(by_onnx.backbone_.providers)} {1000 * onnx_seconds:.2f} ms "
          f"({torch_seconds / onnx_seconds:.2f}x)")
    return 0 if difference <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
