"""Cells per second of the shipped classifier: batched vs one image at a time.

    .venv/bin/python bench/classify_throughput.py --n 200

Images are decoded before timing, so the figures are preprocessing + backbone + head.
"""

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from diagnostics.engine import list_image_folder, load_classifier  # noqa: E402
from diagnostics.engine.datasets import load_image  # noqa: E402


def spread_sample(dataset, n):
    """``n`` paths spread evenly over the sorted listing, so every class is represented."""
    positions = np.linspace(0, len(dataset) - 1, num=min(n, len(dataset))).round().astype(int)
    return [dataset.paths[i] for i in positions]


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO_ROOT / "diagnostics/trained_models/default"))
    parser.add_argument("--data", default=str(REPO_ROOT.parent / "shared/datasets/sipakmed"))
    parser.add_argument("--n", type=int, default=200, help="number of stored images")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="images per backbone batch (default: the classifier's)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    classifier, load_seconds = timed(lambda: load_classifier(args.model))
    if args.batch_size:
        classifier.batch_size = args.batch_size
    paths = spread_sample(list_image_folder(args.data), args.n)
    images, decode_seconds = timed(lambda: [load_image(path) for path in paths])
    classifier.predict_proba(images[:classifier.batch_size])  # warm-up

    batched, batch_seconds = timed(lambda: classifier.predict_proba(images))
    single, single_seconds = timed(
        lambda: np.concatenate([classifier.predict_proba([image]) for image in images]))

    print(f"model {classifier.version}  views={list(classifier.views)}  "
          f"image_size={classifier.image_size}")
    print(f"python {platform.python_version()}  torch {torch.__version__}  "
          f"threads {torch.get_num_threads()}  cpu {platform.processor() or platform.machine()}")
    print(f"model load: {load_seconds:.2f} s;  decoding {len(images)} PNGs: "
          f"{len(images) / decode_seconds:.1f} images/s (not included below)")
    print(f"batched (batch_size={classifier.batch_size}): "
          f"{len(images) / batch_seconds:7.1f} cells/s  ({batch_seconds:.2f} s)")
    print(f"one at a time:            {len(images) / single_seconds:7.1f} cells/s  "
          f"({single_seconds:.2f} s)")
    print(f"max |batched - single| probability: {np.abs(batched - single).max():.2e}")
    print(f"peak RSS: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
