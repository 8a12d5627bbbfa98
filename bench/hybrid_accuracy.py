"""Grouped 5-fold accuracy of every hybrid design that can be built on this machine.

    .venv/bin/python bench/hybrid_accuracy.py                       # every registered hybrid
    .venv/bin/python bench/hybrid_accuracy.py --hybrids efficientnet_lite0-lightgbm

Each hybrid is validated exactly as `train_classifier` validates it (same folds: groups are
(class, cluster image), StratifiedGroupKFold, seed 0; fine-tuning re-done inside every fold).
A design whose pretrained weights are not on this machine (torchvision's, which are never
downloaded) gets a row saying which file is missing. Prints the paper's table (per-class
precision / recall / F1, accuracy) per hybrid and a summary; saves JSON with --json.
Fine-tuned designs take about 40 minutes on 2 cores; frozen ones reuse cached features.
"""

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from diagnostics.engine import available_hybrids, group_keys, grouped_kfold  # noqa: E402
from diagnostics.engine import list_image_folder  # noqa: E402
from diagnostics.engine.evaluation import format_validation_table  # noqa: E402
from diagnostics.engine.training import validate_hybrid  # noqa: E402

FOCUS_CLASSES = ("Dyskeratotic", "Koilocytotic")


def validate(hybrid, dataset, folds):
    started = time.perf_counter()
    try:
        _, metrics, _, _ = validate_hybrid(hybrid, dataset, folds, progress=False)
    except FileNotFoundError as error:
        return {"hybrid": hybrid, "error": str(error)}
    return {"hybrid": hybrid, "metrics": metrics,
            "seconds": round(time.perf_counter() - started, 1)}


def summary_row(result):
    if "error" in result:
        return f"| {result['hybrid']} | not built: {result['error'].split(' (')[0]} |||||"
    metrics = result["metrics"]
    recalls = " | ".join(f"{metrics['per_class'][name]['recall']:.3f}"
                         if name in metrics["per_class"] else "-" for name in FOCUS_CLASSES)
    return (f"| {result['hybrid']} | {metrics['accuracy']:.3f} | {metrics['macro_f1']:.3f} | "
            f"{recalls} | {metrics['ece']:.3f} | {result['seconds']:.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO_ROOT.parent / "shared/datasets/sipakmed"))
    parser.add_argument("--hybrids", nargs="*", default=None,
                        help=f"default: all of {', '.join(available_hybrids())}")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    dataset = list_image_folder(args.data)
    folds = grouped_kfold(dataset.labels, group_keys(dataset), args.folds, seed=args.seed)
    results = []
    for hybrid in args.hybrids or available_hybrids():
        result = validate(hybrid, dataset, folds)
        results.append(result)
        print(f"\n## {hybrid}")
        print(result.get("error") or format_validation_table(result["metrics"],
                                                            dataset.classes))
    print(f"\n{len(dataset)} images, {len(set(group_keys(dataset)))} groups, "
          f"{args.folds} grouped folds (seed {args.seed}); out-of-fold, before calibration\n")
    print("| hybrid | accuracy | macro-F1 | Dyskeratotic recall | Koilocytotic recall | ECE "
          "| seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for result in results:
        print(summary_row(result))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=_plain) + "\n")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else str(value)


if __name__ == "__main__":
    main()
