"""What an int8 backbone would change: speed, and the shipped model's predictions.

    .venv/bin/python bench/int8_experiment.py               # every SIPaKMeD cell, ~5 minutes
    .venv/bin/python bench/int8_experiment.py --limit 40    # smoke run, 40 cells a class

The shipped SIPaKMeD model's ``backbone.onnx`` is quantized statically (ONNX Runtime's
``quantize_static``: QDQ format, int8 weights per channel, ``--activations``) with
``--calibration`` cells, every class alike, taken apart from the cells compared (a
quantization needs only a few hundred; they are not labelled). Then:

1. Speed: backbone cells/s on the same prepared cells (batches of 16, best of ``--rounds``),
   float32 and int8, in ONNX Runtime and in OpenVINO (the worker's engine when installed; it
   reads the QDQ model and runs int8 where the CPU has VNNI or AMX).
2. Agreement: the shipped head's classes, referral flags and probabilities from int8
   features against float32 features, on every other cell. These cells trained the model,
   so its accuracy here validates nothing: an int8 model must be re-validated out of sample
   (grouped CV and the holdout) before a lab could use it. The head is kept as trained.
Nothing here changes the product: the worker serves the float32 backbone.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from diagnostics.engine import list_image_folder, load_classifier  # noqa: E402
from diagnostics.engine.serving import (INPUT_NAME, OnnxBackbone,  # noqa: E402
                                        OpenVinoBackbone, normalise_array)

DATA_DIR = REPO_ROOT.parent / "shared" / "datasets" / "sipakmed"
SHIPPED_MODEL = REPO_ROOT / "diagnostics" / "trained_models" / "default"
BATCH = 16


def cells_by_class(data_dir, limit):
    """(paths, labels) with at most ``limit`` cells a class (all with None), in folder order."""
    dataset = list_image_folder(data_dir)
    kept, counts = [], {}
    for path, label in zip(dataset.paths, dataset.labels):
        counts[label] = counts.get(label, 0) + 1
        if limit is None or counts[label] <= limit:
            kept.append((path, label))
    return [path for path, _ in kept], np.array([label for _, label in kept])


def prepared(classifier, paths):
    """Normalised (n, 3, S, S) float32 batches' worth of cells, as the worker prepares them."""
    pixels = []
    for start in range(0, len(paths), BATCH):
        images = [Image.open(path).convert("RGB") for path in paths[start:start + BATCH]]
        pixels.append(classifier.prepare_pixels(images))
    return normalise_array(np.concatenate(pixels), classifier.preprocessing_)


def quantized(float_model, calibration, out_path, activations):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    class Cells(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{INPUT_NAME: calibration[start:start + BATCH]}
                                 for start in range(0, len(calibration), BATCH)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(float_model), str(out_path), Cells(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType[activations],
                    weight_type=QuantType.QInt8)
    return out_path


def features(backbone, cells):
    return np.concatenate([backbone.features(np.ascontiguousarray(cells[start:start + BATCH]))
                           for start in range(0, len(cells), BATCH)])


def cells_per_second(backbone, cells, rounds):
    features(backbone, cells[:BATCH])  # compile, warm
    best = min(timed(lambda: features(backbone, cells)) for _ in range(rounds))
    return len(cells) / best


def timed(run):
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--limit", type=int, help="cells a class (default: all)")
    parser.add_argument("--calibration", type=int, default=40, help="cells a class")
    parser.add_argument("--speed-cells", type=int, default=320)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--activations", choices=["QInt8", "QUInt8"], default="QUInt8",
                        help="the activations' int8 type (weights are QInt8 per channel)")
    args = parser.parse_args()

    classifier = load_classifier(SHIPPED_MODEL, runtime="onnx")
    if tuple(classifier.views) != ("identity",):
        sys.exit(f"The shipped model reads views {classifier.views}; this script compares one.")
    float_model = SHIPPED_MODEL / "backbone.onnx"
    name, width = classifier.backbone_.name, classifier.backbone_.num_features
    paths, labels = cells_by_class(args.data, args.limit)
    calibration_index = np.zeros(len(paths), dtype=bool)
    for label in np.unique(labels):
        calibration_index[np.flatnonzero(labels == label)[:args.calibration]] = True
    print(f"{len(paths)} cells: {calibration_index.sum()} to calibrate, "
          f"{(~calibration_index).sum()} compared; model {classifier.version}")
    cells = prepared(classifier, paths)
    with tempfile.TemporaryDirectory() as scratch:
        int8_model = quantized(float_model, cells[calibration_index],
                               Path(scratch) / "backbone-int8.onnx", args.activations)
        print(f"backbone.onnx {float_model.stat().st_size / 2**20:.1f} MiB, "
              f"int8 {int8_model.stat().st_size / 2**20:.1f} MiB")
        engines = {"onnxruntime float32": OnnxBackbone(float_model, name, width),
                   "onnxruntime int8": OnnxBackbone(int8_model, name, width)}
        try:
            engines["openvino float32"] = OpenVinoBackbone(float_model, name, width)
            engines["openvino int8"] = OpenVinoBackbone(int8_model, name, width)
        except ImportError:
            print("OpenVINO is not installed: its rows are left out")
        speed_cells = cells[~calibration_index][:args.speed_cells]
        for label, backbone in engines.items():
            speed = cells_per_second(backbone, speed_cells, args.rounds)
            print(f"{label:22s} {speed:7.1f} cells/s (backbone alone, {len(speed_cells)} cells)")
        compared = cells[~calibration_index]
        float_features = features(engines["onnxruntime float32"], compared)
        for label in [key for key in engines if key.endswith("int8")]:
            report_agreement(classifier, float_features, features(engines[label], compared),
                             labels[~calibration_index], label)


def report_agreement(classifier, float_features, int8_features, labels, label):
    float_probabilities = classifier.predict_proba_features(float_features)
    int8_probabilities = classifier.predict_proba_features(int8_features)
    classes = np.asarray(classifier.classes_)
    float_classes = classes[float_probabilities.argmax(axis=1)]
    int8_classes = classes[int8_probabilities.argmax(axis=1)]
    float_referred = classifier.needs_referral(float_probabilities)
    int8_referred = classifier.needs_referral(int8_probabilities)
    changed = int(np.sum(float_classes != int8_classes))
    flags_changed = int(np.sum(float_referred != int8_referred))
    print(f"{label}: {len(labels)} cells; classes changed {changed}, referral flags "
          f"changed {flags_changed} (referred {int(float_referred.sum())} -> {int(int8_referred.sum())}); largest "
          f"probability change {np.abs(float_probabilities - int8_probabilities).max():.4f}; "
          f"in-sample accuracy {np.mean(float_classes == labels):.4f} -> "
          f"{np.mean(int8_classes == labels):.4f} (agreement only: these cells trained it)")


if __name__ == "__main__":
    main()
