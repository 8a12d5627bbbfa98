"""One backbone for both models? A one-fold pilot (issue 17; run by hand).

The worker runs two backbone passes a cell since the Bethesda model's backbone was fine-tuned
on CRIC (bethesda-sipakmed-finetuned-1). This fine-tunes one EfficientNet-Lite0 from its
ImageNet weights, with its last three stages tapped (2528 features, as the Bethesda model
reads them), on SIPaKMeD's cells and CRIC's crops together: one 11-way layer on top (five
morphology classes, six Bethesda categories), cells drawn in proportion to 1/sqrt of their
class's count, so each data set gets about half of every epoch. The layer reads either the
final 1280 features (--tune final, the default: the morphology model's own features, on
which its heat maps are exact) or all 2528 (--tune stages). Then each model's head is fitted
on its own training cells' features of that one backbone: LightGBM as shipped (the
morphology head on the first 1280 features, as the shipped model reads its pass, and for
reference on all 2528; the Bethesda head, class-balanced, on all 2528).

Both data sets are split as their training splits them (StratifiedGroupKFold, 5 folds, seed
0; SIPaKMeD grouped by (class, cluster image), CRIC by field of view), and only fold --fold's
training cells of each are fine-tuned on, so its validation cells are out of sample for
everything. Compare with the shipped models' same fold: their metadata's per_fold_accuracy
(SIPaKMeD 0.946 on fold 0; CRIC 0.842) and bench/README.md's fold-0 pilot (sensitivity 0.820
at specificity 0.90).

    .venv/bin/python bench/one_backbone_pilot.py --fold 0     # about 17 minutes on 2 cores
    for fold in 1 2 3 4; do .venv/bin/python bench/one_backbone_pilot.py --fold $fold; done
    .venv/bin/python bench/one_backbone_pilot.py --pool    # the folds' predictions together
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diagnostics.engine import (  # noqa: E402
    create_hybrid, group_keys, grouped_kfold, list_image_folder)
from diagnostics.engine.backbones import (  # noqa: E402
    create_backbone, efficientnet_lite0_sipakmed_stages)
from diagnostics.engine.calibration import fit_calibration  # noqa: E402
from diagnostics.engine.cric import CRIC_GROUP_PATTERN, cut_cric_crops  # noqa: E402
from diagnostics.engine.datasets import DEFAULT_GROUP_PATTERN  # noqa: E402
from diagnostics.engine.designs import BETHESDA_LIGHTGBM, FINE_TUNED_LIGHTGBM  # noqa: E402
from diagnostics.engine.evaluation import classification_metrics  # noqa: E402
from diagnostics.engine.finetuning import FineTuning, fine_tune, save_weights  # noqa: E402
from diagnostics.engine.heads import LightGBMHead  # noqa: E402
from diagnostics.engine.holdout import sensitivity_at_specificity  # noqa: E402

SHARED = ROOT.parent / "shared" / "datasets"
MORPHOLOGY_FEATURES = 1280


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sipakmed", type=Path, default=SHARED / "sipakmed")
    parser.add_argument("--cric", type=Path, default=SHARED / "cric")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--samples-per-epoch", type=int, default=4800)
    parser.add_argument("--tune", choices=("stages", "final"), default="final",
                        help="what the 11-way layer reads while fine-tuning: the 2528 stage "
                             "features, or the 1280 final ones (the morphology model's)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/one_backbone_pilot"))
    parser.add_argument("--pool", action="store_true",
                        help="only pool the out-of-fold predictions the folds run so far saved")
    return parser.parse_args()


def fold_of(dataset, groups, fold):
    return grouped_kfold(dataset.labels, groups, n_splits=5, seed=0)[fold]


def stage_backbone(backbone, weights):
    """Lite0 with its stages tapped, holding ``backbone``'s weights (saved to ``weights``)."""
    save_weights(backbone, weights)
    return efficientnet_lite0_sipakmed_stages(weights_path=weights)


def fine_tuned_backbone(args, pixels, labels, preprocessing, settings):
    """Lite0 from its ImageNet weights (not the shipped SIPaKMeD model's, which saw every
    SIPaKMeD cell), fine-tuned reading --tune's features, returned with its stages tapped."""
    imagenet = create_backbone("efficientnet_lite0")
    if args.tune == "stages":
        backbone = stage_backbone(imagenet, args.work / "imagenet_lite0.pt")
        fine_tune(backbone, pixels, labels, preprocessing, settings, progress=True)
        return backbone
    weights = args.work / f"one_backbone_fold{args.fold}_final.pt"
    if weights.is_file():  # fine-tuned by an earlier run of this fold: its weights are kept
        return efficientnet_lite0_sipakmed_stages(weights_path=weights)
    fine_tune(imagenet, pixels, labels, preprocessing, settings, progress=True)
    return stage_backbone(imagenet, weights)


def features_of(recipe, backbone, pixels):
    recipe.backbone_ = backbone
    recipe.inference_backbone_ = None
    return recipe.pixel_features(pixels)[0]


def head_figures(head, features, labels, train, validation, saved):
    """The head's figures on the fold's validation cells; their probabilities go to the
    ``saved`` .npz for --pool."""
    head.fit(features[train], labels[train])
    probabilities = head.predict_proba(features[validation])
    classes = list(head.classes_)
    np.savez(saved, probabilities=probabilities, labels=labels[validation], classes=classes)
    return figures_of(probabilities, labels[validation], classes)


def figures_of(probabilities, labels, classes):
    predicted = np.asarray(classes)[probabilities.argmax(axis=1)]
    metrics = classification_metrics(labels, predicted, classes, probabilities)
    return {"cells": len(labels), "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"],
            "abnormal_vs_normal": sensitivity_at_specificity(probabilities, labels, classes),
            "recall": {name: figures["recall"] for name, figures in metrics["per_class"].items()}}


def pooled(work, tune):
    """Figures of every saved fold's out-of-fold predictions together, per head, with the
    referral a temperature and threshold fitted on them would give (as training fits them)."""
    results = {}
    for head in ("sipakmed", "sipakmed_all_2528", "cric"):
        saved = sorted(work.glob(f"fold*-{tune}-{head}.npz"))
        if not saved:
            continue
        parts = [np.load(path) for path in saved]
        classes = list(parts[0]["classes"])
        probabilities = np.concatenate([part["probabilities"] for part in parts])
        labels = np.concatenate([part["labels"] for part in parts])
        calibration = fit_calibration(probabilities, np.searchsorted(classes, labels))
        results[head] = {"folds": [path.name.split("-")[0] for path in saved],
                         **figures_of(probabilities, labels, classes),
                         "referral_rate": calibration["referral_rate"],
                         "kept_accuracy": calibration["kept_accuracy"]}
    return results


def saved(args, head):
    return args.work / f"fold{args.fold}-{args.tune}-{head}.npz"


def main():
    args = parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.pool:
        print(json.dumps(pooled(args.work, args.tune), indent=2, default=float))
        return
    started = time.perf_counter()
    recipe = create_hybrid("bethesda-sipakmed_stages-lightgbm")
    sipakmed = list_image_folder(args.sipakmed)
    cric = list_image_folder(cut_cric_crops(args.cric, 128, ROOT / ".cache" / "crops"))
    splits = [fold_of(sipakmed, group_keys(sipakmed, DEFAULT_GROUP_PATTERN), args.fold),
              fold_of(cric, group_keys(cric, CRIC_GROUP_PATTERN, per_class=False), args.fold)]
    print(f"Decoding {len(sipakmed)} SIPaKMeD cells and {len(cric)} CRIC crops", flush=True)
    pixels = [recipe.prepare_pixels(sipakmed.images()), recipe.prepare_pixels(cric.images())]
    labels = [np.asarray(sipakmed.labels), np.asarray(cric.labels)]
    classes = [sorted(set(labels[0])), sorted(set(labels[1]))]
    joint_pixels = np.concatenate([pixels[0][splits[0][0]], pixels[1][splits[1][0]]])
    joint_labels = np.concatenate([
        np.searchsorted(classes[0], labels[0][splits[0][0]]),
        len(classes[0]) + np.searchsorted(classes[1], labels[1][splits[1][0]])])
    settings = FineTuning(epochs=args.epochs, samples_per_epoch=args.samples_per_epoch,
                          class_balance="sqrt")
    tuning_started = time.perf_counter()
    backbone = fine_tuned_backbone(args, torch.from_numpy(joint_pixels), joint_labels,
                                   recipe.preprocessing_, settings)
    tuning_seconds = time.perf_counter() - tuning_started
    features = [features_of(recipe, backbone, pixels[0]), features_of(recipe, backbone, pixels[1])]
    results = {
        "fold": args.fold, "tune": args.tune, "settings": settings.to_dict(),
        "fine_tuning_cells": len(joint_labels), "fine_tuning_seconds": round(tuning_seconds),
        "sipakmed": head_figures(LightGBMHead(**FINE_TUNED_LIGHTGBM),
                                 features[0][:, :MORPHOLOGY_FEATURES], labels[0], *splits[0],
                                 saved(args, "sipakmed")),
        "sipakmed_all_2528": head_figures(LightGBMHead(**FINE_TUNED_LIGHTGBM), features[0],
                                          labels[0], *splits[0], saved(args, "sipakmed_all_2528")),
        "cric": head_figures(LightGBMHead(**BETHESDA_LIGHTGBM), features[1], labels[1],
                             *splits[1], saved(args, "cric")),
        "seconds": round(time.perf_counter() - started),
    }
    out = args.work / f"fold{args.fold}-{args.tune}.json"
    out.write_text(json.dumps(results, indent=2, default=float))
    print(json.dumps(results, indent=2, default=float))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
