"""Cells per second of the shipped classifier on stored images: batched vs one at a time.

    .venv/bin/python bench/classify_throughput.py --n 500

Both loops start from image files on disk and end with calibrated probabilities, so the
figures include reading and decoding. Batched: files decoded by two threads (as the worker
does), then classified ``batch_size`` at a time. One at a time: the naive loop, each file
opened, decoded and classified alone. A warm-up pass runs first; the best of ``--rounds``
is reported for each.
"""

import argparse
import platform
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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


def classify_batched(classifier, paths):
    with ThreadPoolExecutor(max_workers=2) as pool:
        images = list(pool.map(load_image, paths))
    return classifier.predict_proba(images)


def classify_one_at_a_time(classifier, paths):
    return np.concatenate([classifier.predict_proba([load_image(path)]) for path in paths])


def best_of(rounds, function):
    timings = [timed(function) for _ in range(rounds)]
    return min(timings, key=lambda timing: timing[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO_ROOT / "diagnostics/trained_models/default"))
    parser.add_argument("--data", default=str(REPO_ROOT.parent / "shared/datasets/sipakmed"))
    parser.add_argument("--n", type=int, default=500, help="number of stored images")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; best is shown")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="images per backbone batch (default: the classifier's)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    classifier, load_seconds = timed(lambda: load_classifier(args.model))
    if args.batch_size:
        classifier.batch_size = args.batch_size
    paths = spread_sample(list_image_folder(args.data), args.n)
    classify_batched(classifier, paths[:64])  # warm-up: allocations, file cache
    batched, batch_seconds = best_of(args.rounds, lambda: classify_batched(classifier, paths))
    single, single_seconds = best_of(
        args.rounds, lambda: classify_one_at_a_time(classifier, paths))

    batched_rate, single_rate = len(paths) / batch_seconds, len(paths) / single_seconds
    print(f"model {classifier.version}  views={list(classifier.views)}  "
          f"image_size={classifier.image_size}")
    print(f"python {platform.python_version()}  torch {torch.__version__}  "
          f"threads {torch.get_num_threads()}  cpu {platform.processor() or platform.machine()}")
    print(f"model load: {load_seconds:.2f} s;  {len(paths)} stored images, best of "
          f"{args.rounds} rounds, reading + decoding + classifying")
    print(f"batched (batch_size={classifier.batch_size}): "
          f"{batched_rate:7.1f} cells/s  ({batch_seconds:.2f} s)")
    print(f"one at a time:            {single_rate:7.1f} cells/s  ({single_seconds:.2f} s)")
    print(f"speed-up: {batched_rate / single_rate:.1f}x")
    print(f"max |batched - single| probability: {np.abs(batched - single).max():.2e}")
    print(f"peak RSS: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
