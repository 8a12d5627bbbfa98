"""Bethesda models on SIPaKMeD's isolated cells: another lab, another way of cutting a cell.

    .venv/bin/python bench/bethesda_on_isolated_cells.py                  # the shipped model
    git archive f8e04ed diagnostics/trained_models/bethesda | tar -x -C /tmp/f8e04ed
    .venv/bin/python bench/bethesda_on_isolated_cells.py --model \\
        /tmp/f8e04ed/diagnostics/trained_models/bethesda --model diagnostics/trained_models/bethesda

The Bethesda models learn from CRIC crops cut 128 px around a nucleus centre in a field of
view; SIPaKMeD's 3,230 cells are single cells cropped whole and resized (longer side 128),
labelled in morphology classes, not Bethesda categories. So this is no validation: it says
how a model behaves on isolated-cell uploads, outside the material it was trained on. For
each model: the share of SIPaKMeD's normal-morphology cells (Metaplastic, Parabasal,
Superficial-Intermediate) whose predicted category is not NILM, the share of its abnormal
ones (Dyskeratotic, Koilocytotic) that is not NILM, and the ROC AUC of the summed abnormal
probability between the two. About 20 s a model on one thread.
"""

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from diagnostics.engine import load_classifier  # noqa: E402
from diagnostics.engine.datasets import list_image_folder  # noqa: E402
from diagnostics.engine.holdout import SIPAKMED_ABNORMAL, abnormal_classes  # noqa: E402

BETHESDA_DIR = REPO_ROOT / "diagnostics" / "trained_models" / "bethesda"
SIPAKMED_DIR = REPO_ROOT.parent / "shared" / "datasets" / "sipakmed"


def figures(model, images, truly_abnormal, batch_size=64):
    probabilities = np.concatenate([model.predict_proba(images[start:start + batch_size])
                                    for start in range(0, len(images), batch_size)])
    abnormal = abnormal_classes(model.classes_)
    columns = [model.classes_.index(name) for name in abnormal]
    called = np.isin(np.asarray(model.classes_)[probabilities.argmax(axis=1)], abnormal)
    return {"normal_called_abnormal": (int(called[~truly_abnormal].sum()),
                                       int((~truly_abnormal).sum())),
            "abnormal_called_abnormal": (int(called[truly_abnormal].sum()),
                                         int(truly_abnormal.sum())),
            "auc": float(roc_auc_score(truly_abnormal, probabilities[:, columns].sum(axis=1)))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", type=Path,
                        help="a Bethesda model folder (repeat to compare; default: shipped)")
    parser.add_argument("--data", type=Path, default=SIPAKMED_DIR)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    dataset = list_image_folder(args.data)
    truly_abnormal = np.isin(dataset.labels, SIPAKMED_ABNORMAL)
    images = list(dataset.images())
    for folder in args.model or [BETHESDA_DIR]:
        model = load_classifier(folder, runtime="auto", threads=args.threads)
        result = figures(model, images, truly_abnormal)
        (normal_hits, normal_n), (abnormal_hits, abnormal_n) = (
            result["normal_called_abnormal"], result["abnormal_called_abnormal"])
        print(f"{model.metadata_['version']}: {len(images)} cells; normal morphology called "
              f"abnormal {normal_hits}/{normal_n} ({normal_hits / normal_n:.3f}); abnormal "
              f"morphology called abnormal {abnormal_hits}/{abnormal_n} "
              f"({abnormal_hits / abnormal_n:.3f}); AUC {result['auc']:.3f}")


if __name__ == "__main__":
    main()
