"""An int8 joint backbone with heads fitted on its own features, out of fold (issue 17; by hand)

bench/int8_experiment.py showed that quantizing a fine-tuned backbone after the fact moves its
features too far for a head fitted on float32 ones. This asks the next question: with the
heads fitted on the int8 backbone's own features, what do the two models score out of fold?
On the joint backbone's folds (diagnostics.engine.joint_training's work folder, run it
first): each fold's stage-tapped backbone (2,528 features, the first 1,280 the morphology
model's) is exported to ONNX and quantized statically (ONNX Runtime's ``quantize_static``,
QDQ, int8 weights per channel, uint8 activations) with ``--calibration`` training cells a
class of each data set; OpenVINO (the worker's engine) computes every cell's features; each
model's head (the shipped designs) is fitted on the fold's training cells and predicts its
validation cells; the folds are pooled and scored as training scores them. The same with the
float32 export is the reference. Backbone speed: the last fold's two exports, cells/s on
``--speed-cells`` prepared cells, best of three.

    .venv/bin/python bench/int8_joint.py       # about 30 minutes on 2 cores
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.int8_experiment import quantized  # noqa: E402
from bench.joint_views import SHARED, figures, joint_parts  # noqa: E402
from diagnostics.engine.backbones import efficientnet_lite0_sipakmed_stages  # noqa: E402
from diagnostics.engine.joint_training import DEFAULT_WORK_DIR  # noqa: E402
from diagnostics.engine.onnx_export import export_backbone  # noqa: E402
from diagnostics.engine.serving import OpenVinoBackbone, normalise_array  # noqa: E402

BATCH = 16


def normalised(part):
    return normalise_array(np.asarray(part.pixels), part.recipe.preprocessing_)


def features(backbone, cells):
    return np.concatenate([backbone.features(np.ascontiguousarray(cells[start:start + BATCH]))
                           for start in range(0, len(cells), BATCH)])


def calibration_cells(parts, cells, fold, per_class):
    chosen = []
    for part, part_cells in zip(parts, cells):
        train = part.folds[fold][0]
        for label in part.classes:
            chosen.append(part_cells[train[part.labels[train] == label][:per_class]])
    return np.concatenate(chosen)


def cells_per_second(backbone, cells):
    features(backbone, cells[:BATCH])  # compile, warm
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        features(backbone, cells)
        best = min(best, time.perf_counter() - started)
    return round(len(cells) / best, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sipakmed", type=Path, default=SHARED / "sipakmed")
    parser.add_argument("--cric", type=Path, default=SHARED / "cric")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--calibration", type=int, default=20, help="cells a class a data set")
    parser.add_argument("--speed-cells", type=int, default=320)
    args = parser.parse_args()
    args.image_size = 128
    torch.set_num_threads(2)
    parts = joint_parts(args)
    cells = [normalised(part) for part in parts]
    pooled = {(precision, i): np.zeros((len(part.labels), len(part.classes)))
              for precision in ("float32", "int8") for i, part in enumerate(parts)}
    speed = {}
    with tempfile.TemporaryDirectory() as scratch:
        for fold in range(5):
            weights = next(args.work.glob(f"joint-*-fold{fold}.pt"))
            backbone = efficientnet_lite0_sipakmed_stages(weights_path=weights)
            exports = {"float32": Path(scratch) / f"fold{fold}.onnx"}
            export_backbone(backbone, args.image_size, exports["float32"])
            exports["int8"] = quantized(exports["float32"],
                                        calibration_cells(parts, cells, fold, args.calibration),
                                        Path(scratch) / f"fold{fold}-int8.onnx", "QUInt8")
            for precision, path in exports.items():
                engine = OpenVinoBackbone(path, backbone.name, backbone.num_features)
                for i, part in enumerate(parts):
                    part_features = features(engine, cells[i])[:, :part.n_features]
                    train, validation = part.folds[fold]
                    classifier = part.recipe.clone().fit_features(part_features[train],
                                                                  part.labels[train])
                    pooled[precision, i][validation] = classifier.predict_proba_features(
                        part_features[validation])
                if fold == 4:
                    speed[precision] = cells_per_second(engine, cells[0][:args.speed_cells])
            print(f"fold {fold} done", file=sys.stderr, flush=True)
    results = {f"{part.source['data_dir_name']}, {precision}": figures(
        part, pooled[precision, i], part.labels)
        for precision in ("float32", "int8") for i, part in enumerate(parts)}
    results["backbone cells/s (OpenVINO, batches of 16)"] = speed
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
