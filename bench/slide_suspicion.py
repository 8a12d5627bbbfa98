"""Which model should pick a slide's suspicious cells? (issue 17; by hand)

A slide keeps database rows for its SLIDE_FLAGGED_ROWS most suspicious flagged cells
(diagnostics/slide_cells.py). Its crops are cut around detections, as CRIC's cells were, so
this scores both models on CRIC's 4,639 marked cells, out of fold: on the joint backbone's
fold weights (diagnostics.engine.joint_training's work folder, and the features
bench/joint_views.py kept there: run both first), the morphology model's head is fitted on
fold k's SIPaKMeD training cells and predicts fold k's CRIC validation cells (calibrated as
the shipped model is); the Bethesda model's are its training's out-of-fold probabilities.
Abnormal = any category but NILM. For each model: the cells it flags (the worker's rule,
slide_cells.suspicious_cells), the AUC of its suspicion, and among the K most suspicious
cells the share abnormal and the share of all abnormal cells found.

    .venv/bin/python bench/slide_suspicion.py       # 2 minutes on 2 cores
"""
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diagnostics.engine.calibration import apply_temperature  # noqa: E402
from diagnostics.engine.crops import DEFAULT_CROP_SIZE  # noqa: E402
from diagnostics.engine.designs import DEFAULT_HYBRID, create_hybrid  # noqa: E402
from diagnostics.engine.feature_cache import DEFAULT_CACHE_DIR  # noqa: E402
from diagnostics.engine.holdout import abnormal_classes  # noqa: E402
from diagnostics.engine.joint_training import (  # noqa: E402
    BETHESDA_ON_JOINT_BACKBONE, DEFAULT_WORK_DIR, _part)

WORST_CELLS = 5  # diagnostics.triage.WORST_CELLS (that module needs Django)

SHARED = ROOT.parent / "shared" / "datasets"
SHIPPED = ROOT / "diagnostics" / "trained_models" / "default" / "metadata.json"


def morphology_out_of_fold(sipakmed, cric, work, key):
    recipe = create_hybrid(DEFAULT_HYBRID, pretrained=False)
    probabilities = np.zeros((len(cric.labels), len(sipakmed.classes)))
    for fold in range(5):
        def features(name):
            return np.load(work / f"joint-{key}-fold{fold}-{name}-stages-identity.npy",
                           mmap_mode="r")[:, :1280]
        train, validation = sipakmed.folds[fold][0], cric.folds[fold][1]
        classifier = recipe.clone().fit_features(np.asarray(features("sipakmed")[train]),
                                                 sipakmed.labels[train])
        probabilities[validation] = classifier.predict_proba_features(
            np.asarray(features("cric")[validation]))
    calibration = json.loads(SHIPPED.read_text())["calibration"]
    return apply_temperature(probabilities, calibration["temperature"]), calibration


def figures(flagged, suspicion, abnormal):
    ranked = np.argsort(-suspicion)
    return {"flagged": round(float(flagged.mean()), 4),
            "auc": round(float(roc_auc_score(abnormal, suspicion)), 4),
            **{f"top {k}: abnormal, found": [round(float(abnormal[ranked[:k]].mean()), 3),
                                            round(float(abnormal[ranked[:k]].sum()
                                                        / abnormal.sum()), 3)]
               for k in (200, 500, 1000)}}


def field_triage(suspicion, abnormal, fields):
    """AUC over fields of the triage score, and how many fields hold an abnormal cell."""
    names = np.unique(fields)
    scores = [np.sort(suspicion[fields == name])[::-1][:WORST_CELLS].mean() for name in names]
    any_abnormal = [abnormal[fields == name].any() for name in names]
    return {"fields": len(names), "with an abnormal cell": int(np.sum(any_abnormal)),
            "triage score AUC": round(float(roc_auc_score(any_abnormal, scores)), 4)}


def evaluated_key(work):
    """The newest training whose five folds' CRIC features joint_views.py kept."""
    keys = [path.stem.split("-")[1] for path in
            sorted(work.glob("joint-*-out-of-fold.npz"), key=lambda path: -path.stat().st_mtime)]
    return next(key for key in keys
                if (work / f"joint-{key}-fold4-cric-stages-identity.npy").is_file())


def main():
    work = DEFAULT_WORK_DIR
    key = evaluated_key(work)
    sipakmed = _part(DEFAULT_HYBRID, SHARED / "sipakmed", DEFAULT_CACHE_DIR, DEFAULT_CROP_SIZE,
                     5, 0)
    cric = _part(BETHESDA_ON_JOINT_BACKBONE, SHARED / "cric", DEFAULT_CACHE_DIR,
                 DEFAULT_CROP_SIZE, 5, 0)
    abnormal = np.isin(cric.labels, abnormal_classes(cric.classes))
    morphology, calibration = morphology_out_of_fold(sipakmed, cric, work, key)
    referred = morphology.max(axis=1) < calibration["referral_threshold"]
    columns = np.isin(sipakmed.classes, abnormal_classes(sipakmed.classes))
    morphology_flagged = columns[morphology.argmax(axis=1)] | referred
    bethesda = np.load(work / f"joint-{key}-out-of-fold.npz")["cric_probabilities"]
    abnormal_category = np.isin(cric.classes, abnormal_classes(cric.classes))
    morphology_suspicion = morphology[:, columns].sum(axis=1)
    bethesda_suspicion = bethesda[:, abnormal_category].sum(axis=1)
    fields = np.asarray(cric.groups)
    print(json.dumps({
        "key": key, "cells": len(abnormal), "abnormal": int(abnormal.sum()),
        "morphology model (referral or Dyskeratotic/Koilocytotic)": {
            "referred": round(float(referred.mean()), 4),
            **figures(morphology_flagged, morphology_suspicion, abnormal),
            **field_triage(morphology_suspicion, abnormal, fields)},
        "Bethesda model (any category but NILM)": {
            **figures(abnormal_category[bethesda.argmax(axis=1)], bethesda_suspicion, abnormal),
            **field_triage(bethesda_suspicion, abnormal, fields)}}, indent=2))


if __name__ == "__main__":
    main()
