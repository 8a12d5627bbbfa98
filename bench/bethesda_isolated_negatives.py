"""Does the Bethesda head learn to leave isolated normal cells alone? (issue 17; by hand)

The shipped Bethesda model calls many of SIPaKMeD's normal isolated cells abnormal
(bethesda_on_isolated_cells.py), but that script scores the final model, whose backbone saw
every SIPaKMeD cell. Here every figure is out of fold: on each fold of the joint training
(diagnostics.engine.joint_training; its fold weights and the stage features joint_views.py
keeps, computed here where missing), the Bethesda head is fitted on the fold's CRIC training
cells, alone (as shipped) or with the fold's SIPaKMeD training cells of normal morphology
(Metaplastic, Parabasal, Superficial-Intermediate) added as NILM, and predicts the fold's
CRIC and SIPaKMeD validation cells. For CRIC: accuracy, macro-F1, sensitivity at
specificity 0.90; for SIPaKMeD's isolated cells: the share of normal- and abnormal-morphology
cells called anything but NILM, and the AUC of P(not NILM) between them.

    .venv/bin/python bench/bethesda_isolated_negatives.py     # about 20 minutes on 2 cores
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from joint_views import figures, joint_parts, view_features  # noqa: E402

from diagnostics.engine.holdout import SIPAKMED_ABNORMAL  # noqa: E402
from diagnostics.engine.joint_training import (  # noqa: E402
    DEFAULT_WORK_DIR, JOINT_FINE_TUNING, _FineTuningRun)

SHARED = ROOT.parent / "shared" / "datasets"
NILM = "Negative for intraepithelial lesion"
HEADS = ("CRIC only (shipped)", "CRIC + SIPaKMeD normal cells as NILM")


def stage_features(part, weights):
    name = part.source["data_dir_name"]
    return np.asarray(view_features(part, weights, ["identity"],
                                    weights.with_name(f"{weights.stem}-{name}-stages"))[0])


def isolated_figures(probabilities, classes, morphology):
    not_nilm = 1.0 - probabilities[:, list(classes).index(NILM)]
    called = np.asarray(classes)[probabilities.argmax(axis=1)] != NILM
    abnormal = np.isin(morphology, SIPAKMED_ABNORMAL)
    return {"normal called not NILM": round(float(called[~abnormal].mean()), 4),
            "abnormal called not NILM": round(float(called[abnormal].mean()), 4),
            "auc": round(float(roc_auc_score(abnormal, not_nilm)), 4)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sipakmed", type=Path, default=SHARED / "sipakmed")
    parser.add_argument("--cric", type=Path, default=SHARED / "cric")
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    args.image_size = 128
    torch.set_num_threads(2)
    sipakmed, cric = joint_parts(args)
    run = _FineTuningRun([sipakmed, cric], JOINT_FINE_TUNING, DEFAULT_WORK_DIR, True, "cpu",
                         True, 5, 0)
    on_cric = {head: np.zeros((len(cric.labels), len(cric.classes))) for head in HEADS}
    on_sipakmed = {head: np.zeros((len(sipakmed.labels), len(cric.classes))) for head in HEADS}
    for fold in args.folds:
        weights = run.weights(fold)
        cric_features, sipakmed_features = stage_features(cric, weights), \
            stage_features(sipakmed, weights)
        cric_train, cric_validation = cric.folds[fold]
        sipakmed_train, sipakmed_validation = sipakmed.folds[fold]
        normal = sipakmed_train[~np.isin(sipakmed.labels[sipakmed_train], SIPAKMED_ABNORMAL)]
        fitting = {
            HEADS[0]: (cric_features[cric_train], cric.labels[cric_train]),
            HEADS[1]: (np.concatenate([cric_features[cric_train], sipakmed_features[normal]]),
                       np.concatenate([cric.labels[cric_train], [NILM] * len(normal)]))}
        for head, (features, labels) in fitting.items():
            classifier = cric.recipe.clone().fit_features(features, labels)
            on_cric[head][cric_validation] = classifier.predict_proba_features(
                cric_features[cric_validation])
            on_sipakmed[head][sipakmed_validation] = classifier.predict_proba_features(
                sipakmed_features[sipakmed_validation])
        print(f"fold {fold} done", file=sys.stderr, flush=True)
    cric_chosen = np.concatenate([cric.folds[fold][1] for fold in args.folds])
    sipakmed_chosen = np.concatenate([sipakmed.folds[fold][1] for fold in args.folds])
    print(json.dumps({"folds": args.folds, **{head: {
        "CRIC": figures(cric, on_cric[head][cric_chosen], cric.labels[cric_chosen]),
        "SIPaKMeD isolated cells": isolated_figures(
            on_sipakmed[head][sipakmed_chosen], cric.classes,
            sipakmed.labels[sipakmed_chosen])} for head in HEADS}}, indent=2))


if __name__ == "__main__":
    main()
