"""How far frozen CNN features get toward the Bethesda cell model (issue 17, part 1).

Cuts every marked CRIC cell as the product cuts it (diagnostics.engine.crops, 128 px), takes
features from a frozen backbone (the shipped SIPaKMeD-fine-tuned EfficientNet-Lite0, ImageNet
EfficientNet-Lite0, or both side by side), fits a class-balanced logistic regression on 4 of 5
folds grouped by image (StratifiedGroupKFold, seed 0) and prints, out of fold: six-class
accuracy and macro-F1, the abnormal-vs-NILM sensitivity at specificity 0.90, the specificity
at sensitivity 0.97, and the confusion matrix.

    .venv/bin/python bench/bethesda_frozen_features.py --features sipakmed imagenet
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLASSES = ["Negative for intraepithelial lesion", "ASC-US", "LSIL", "ASC-H", "HSIL", "SCC"]


def crops_labels_groups(data_dir, size):
    from PIL import Image

    from diagnostics.engine.cells_csv import CELLS_CSV, read_cells_csv
    from diagnostics.engine.crops import cut_cell_crops

    crops, labels, groups = [], [], []
    for image, cells in read_cells_csv(data_dir / CELLS_CSV).groupby_image().items():
        with Image.open(data_dir / "images" / image) as field:
            crops += cut_cell_crops(field.convert("RGB"), [(c.x, c.y) for c in cells], size)
        labels += [c.label for c in cells]
        groups += [image] * len(cells)
    return crops, np.array(labels), np.array(groups)


def backbone_features(which, crops):
    from diagnostics.engine import create_hybrid, load_classifier

    if which == "sipakmed":
        extractor = load_classifier(ROOT / "diagnostics" / "trained_models" / "default")
    else:
        extractor = create_hybrid("efficientnet_lite0-lightgbm", views=("identity",))
    started = time.perf_counter()
    features = extractor.extract_features(crops)[0]
    print(f"{which}: {features.shape[1]} features of {len(crops)} crops in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return features


def out_of_fold(features, labels, groups):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classes = np.array([CLASSES.index(label) for label in labels])
    probabilities = np.zeros((len(labels), len(CLASSES)))
    folds = StratifiedGroupKFold(5, shuffle=True, random_state=0).split(features, classes, groups)
    for train, validation in folds:
        model = make_pipeline(StandardScaler(), LogisticRegression(
            C=0.05, class_weight="balanced", max_iter=2000))
        model.fit(features[train], classes[train])
        probabilities[validation] = model.predict_proba(features[validation])
    return classes, probabilities


def report(classes, probabilities):
    from sklearn.metrics import confusion_matrix, f1_score

    predicted = probabilities.argmax(axis=1)
    abnormal_score, abnormal = 1 - probabilities[:, 0], classes != 0
    normal_scores = np.sort(abnormal_score[~abnormal])
    at_spec_90 = normal_scores[int(np.ceil(0.90 * len(normal_scores))) - 1]
    abnormal_scores = np.sort(abnormal_score[abnormal])
    at_sens_97 = abnormal_scores[int(np.floor(0.03 * len(abnormal_scores)))]
    print(f"six classes: accuracy {np.mean(predicted == classes):.3f}, macro-F1 "
          f"{f1_score(classes, predicted, average='macro'):.3f}")
    print(f"abnormal vs NILM: sensitivity {np.mean(abnormal_score[abnormal] > at_spec_90):.3f} "
          f"at specificity 0.90; specificity {np.mean(abnormal_score[~abnormal] < at_sens_97):.3f}"
          f" at sensitivity 0.97 (targets: 0.97 at 0.90)")
    print("confusion matrix (rows true, columns predicted):", ", ".join(CLASSES))
    print(confusion_matrix(classes, predicted))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "cric")
    parser.add_argument("--features", nargs="+", choices=["sipakmed", "imagenet"],
                        default=["sipakmed"])
    parser.add_argument("--crop-size", type=int, default=128)
    args = parser.parse_args()
    crops, labels, groups = crops_labels_groups(args.data, args.crop_size)
    features = np.concatenate([backbone_features(which, crops) for which in args.features], axis=1)
    report(*out_of_fold(features, labels, groups))


if __name__ == "__main__":
    main()
