"""Can the Bethesda head read the morphology model's backbone pass? (issue 17, part 2)

With bethesda-frozen-2 every cell went through two EfficientNet-Lite0 passes: the morphology
model's (fine-tuned on SIPaKMeD) and the Bethesda model's (frozen ImageNet). This bench scores
Bethesda heads on features of (the shipped bethesda-sipakmed-stages-1 is "ft-final+s567")

- the morphology pass alone (zero extra backbone cost): its pooled 1280 features and/or the
  global average / max pooling of the outputs of its last MBConv stages (s4: 80 channels,
  8x8; s5: 112, 8x8; s6: 192, 4x4; s7: 320, 4x4 at 128 px), which an export of the same
  pass can return as one more output;
- cheaper separate ImageNet backbones, for reference: Lite0 on crops resized to 96 px, or
  Lite0 truncated after stage s5 or s6 (the head convolution and later stages skipped).

Crops are cut as bench/bethesda_frozen_features.py cuts them (128 px around each cells.csv
centre), folds are the same (StratifiedGroupKFold, 5, seed 0, groups = fields) and so are the
figures (its ``report()``): six-class accuracy, macro-F1 and abnormal-vs-NILM sensitivity at
specificity 0.90, for the shipped head recipe (LightGBM with bethesda metadata.json's params,
class_weight balanced) and a class-balanced logistic regression. The backbone cost is
measured with OpenVINO (2 threads, batches of 16, as the worker serves): each variant's
backbone exported to ONNX, all timed interleaved in rounds, the median round reported.
Features and out-of-fold probabilities are cached under --cache (delete it to recompute).

    .venv/bin/python bench/bethesda_shared_backbone.py        # every variant, fold seed 0, timings
    .venv/bin/python bench/bethesda_shared_backbone.py --heads lightgbm --seeds 0 1 2 \
        --no-timing --variants ft-s567 ft-final+s567 "in128-final (bethesda-frozen-2)" in128-to-s6

From nothing cached, the first takes about 25 minutes on the 2 shared cores (LightGBM's
5 folds 0.5-5 minutes a variant, depending on the load).
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bethesda_frozen_features import CLASSES, crops_labels_groups  # noqa: E402

MODELS = ROOT / "diagnostics" / "trained_models"
# Last block of each tapped stage of Lite0 (LITE0_STAGES repeats 1, 2, 2, 3, 3, 4, 1).
STAGE_ENDS = {"s4": 7, "s5": 10, "s6": 14, "s7": 15}
POOLS = ("avg", "max")
BOTH = [f"{stage}_{pool}" for stage in ("s5", "s6", "s7") for pool in POOLS]
# name -> (source of the features, feature blocks, timing model of its Bethesda backbone).
# Sources: "ft" the morphology model's pass (fine-tuned, 128 px), "in128"/"in96" ImageNet
# Lite0 at 128/96 px. Blocks: "final" is the pooled 1280 the heads read today. Timing
# "shared": the morphology export with stage_features, less the one without.
VARIANTS = {
    "in128-final (bethesda-frozen-2)": ("in128", ["final"], "in128"),
    "ft-final": ("ft", ["final"], "as-is"),
    "ft-final+s567avg": ("ft", ["final", "s5_avg", "s6_avg", "s7_avg"], "shared"),
    "ft-final+s567": ("ft", ["final"] + BOTH, "shared"),
    "ft-s567": ("ft", BOTH, "shared"),
    "in96-final": ("in96", ["final"], "in96"),
    "in128-to-s6": ("in128", ["s4_avg", "s4_max", "s5_avg", "s5_max", "s6_avg", "s6_max"],
                    "in128-to-s6"),
    "in128-to-s5": ("in128", ["s4_avg", "s4_max", "s5_avg", "s5_max"], "in128-to-s5"),
}


def lite_body(source):
    """The fused (inference) EfficientNet-Lite0 body of ``source`` and its Preprocessing."""
    from diagnostics.engine import create_hybrid, load_classifier

    if source == "ft":
        classifier = load_classifier(MODELS / "default", runtime="torch")
    else:
        classifier = create_hybrid("bethesda-efficientnet_lite0-lightgbm-identity",
                                   image_size=int(source.removeprefix("in")))
    return classifier.backbone_.for_inference().body, classifier.preprocessing_


def tapped_module(body, last_stage=None):
    """A module: normalised pixels -> {tap name: (N, C) pooled} for every stage in
    STAGE_ENDS up to ``last_stage`` (all, plus the head, when None)."""
    import torch
    from torch.nn import functional as F

    stops = {index: name for name, index in STAGE_ENDS.items()}
    last_block = STAGE_ENDS[last_stage] if last_stage else len(body._blocks) - 1

    class Tapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body

        def forward(self, x):
            taps = {}
            x = F.relu6(self.body._bn0(self.body._conv_stem(x)))
            for index, block in enumerate(self.body._blocks[:last_block + 1]):
                x = block(x)
                if index in stops:
                    taps[f"{stops[index]}_avg"] = x.mean(dim=(2, 3))
                    taps[f"{stops[index]}_max"] = x.amax(dim=(2, 3))
            if last_stage is None:
                # The map before ReLU6 is the Grad-CAM map the shipped exports return.
                taps["feature_map"] = self.body._bn1(self.body._conv_head(x))
                x = F.relu6(taps["feature_map"])
                taps["final"] = x.mean(dim=(2, 3))
                taps["head_max"] = x.amax(dim=(2, 3))
            return taps

    return Tapped().eval()


def source_features(source, crops, cache):
    """{tap: (n, C) float32} of every crop for ``source``, cached as an .npz."""
    path = cache / f"features-{source}.npz"
    if path.is_file():
        return dict(np.load(path))
    import torch

    from diagnostics.engine.preprocessing import normalise, square_pixel_array

    torch.set_num_threads(2)
    body, preprocessing = lite_body(source)
    module, started, parts = tapped_module(body), time.perf_counter(), []
    with torch.inference_mode():
        for start in range(0, len(crops), 64):
            pixels = square_pixel_array(crops[start:start + 64], preprocessing)
            taps = module(normalise(pixels, preprocessing).contiguous())
            parts.append({k: v.numpy() for k, v in taps.items() if k != "feature_map"})
    features = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    print(f"{source}: taps of {len(crops)} crops in {time.perf_counter() - started:.0f} s",
          flush=True)
    np.savez(path, **features)
    return features


def fit_head(kind, train_x, train_y):
    """A fitted head with ``predict_proba`` columns in CLASSES order."""
    if kind == "lightgbm":
        from diagnostics.engine.heads import LightGBMHead
        from diagnostics.engine.metadata import read_metadata

        # The shipped recipe exactly: string labels (LightGBM's class order is theirs,
        # sorted), the params of the shipped Bethesda model (bethesda-frozen-2's too).
        params = read_metadata(MODELS / "bethesda")["head"]["params"]
        head = LightGBMHead(**params).fit(train_x, np.array(CLASSES)[train_y])
        order = np.argsort([CLASSES.index(name) for name in head.classes_])
        return _Reordered(head, order)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(
        C=0.05, class_weight="balanced", max_iter=2000)).fit(train_x, train_y)


class _Reordered:
    def __init__(self, head, order):
        self.head, self.order = head, order

    def predict_proba(self, features):
        return self.head.predict_proba(features)[:, self.order]


def out_of_fold(kind, features, classes, groups, seed):
    from sklearn.model_selection import StratifiedGroupKFold

    probabilities = np.zeros((len(classes), len(CLASSES)))
    folds = StratifiedGroupKFold(5, shuffle=True, random_state=seed).split(
        features, classes, groups)
    for train, validation in folds:
        head = fit_head(kind, features[train], classes[train])
        probabilities[validation] = head.predict_proba(features[validation])
    return probabilities


def figures(classes, probabilities):
    """(accuracy, macro-F1, sensitivity at specificity 0.90), as report() computes them."""
    from sklearn.metrics import f1_score

    predicted = probabilities.argmax(axis=1)
    abnormal_score, abnormal = 1 - probabilities[:, 0], classes != 0
    normal_scores = np.sort(abnormal_score[~abnormal])
    at_spec_90 = normal_scores[int(np.ceil(0.90 * len(normal_scores))) - 1]
    return (float(np.mean(predicted == classes)),
            float(f1_score(classes, predicted, average="macro")),
            float(np.mean(abnormal_score[abnormal] > at_spec_90)))


def variant_figures(name, kind, seed, data, cache):
    path = cache / f"oof-{name.split()[0]}-{kind}-seed{seed}.npy"
    source, blocks, _ = VARIANTS[name]
    if path.is_file():
        probabilities = np.load(path)
    else:
        features = np.concatenate([data["features"][source][block] for block in blocks], axis=1)
        started = time.perf_counter()
        probabilities = out_of_fold(kind, features, data["classes"], data["groups"], seed)
        print(f"  {name} {kind} seed {seed}: {features.shape[1]} features, "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        np.save(path, probabilities)
    return figures(data["classes"], probabilities)


def timing_models(cache):
    """{timing model: ONNX path}: the shipped exports and the variants' backbones."""
    import torch

    from diagnostics.engine import load_classifier
    from diagnostics.engine.onnx_export import _use_static_padding, export_backbone

    from diagnostics.engine.backbones import create_backbone

    paths = {"morphology": cache / "morphology.onnx", "shared": cache / "shared.onnx",
             "in128": cache / "in128.onnx"}
    if not paths["shared"].is_file():
        # The engine's exports of the morphology backbone as shipped (features, feature_map),
        # of the same weights with the s5-s7 taps (efficientnet_lite0_sipakmed_stages, the
        # shipped Bethesda model's backbone) and of ImageNet Lite0 (bethesda-frozen-2's).
        morphology = load_classifier(MODELS / "default", runtime="torch").backbone_
        export_backbone(morphology, 128, paths["morphology"])
        export_backbone(create_backbone("efficientnet_lite0_sipakmed_stages"), 128,
                        paths["shared"])
        export_backbone(create_backbone("efficientnet_lite0"), 128, paths["in128"])
    built = {"in96": ("in96", "final", 96), "in128-to-s6": ("in128", "s6", 128),
             "in128-to-s5": ("in128", "s5", 128)}
    for name, (source, last_stage, size) in built.items():
        paths[name] = cache / f"{name}.onnx"
        if paths[name].is_file():
            continue
        body, _ = lite_body(source)
        _use_static_padding(body, size)
        module = tapped_module(body, None if last_stage == "final" else last_stage)
        if last_stage == "final":
            outputs = [["final"]]
        else:
            outputs = [[key for key in module(torch.zeros(1, 3, size, size))]]
        wrapped = _outputs_module(module, outputs)
        with torch.no_grad():
            torch.onnx.export(wrapped, (torch.zeros(2, 3, size, size),), str(paths[name]),
                              input_names=["pixels"],
                              output_names=[f"output{i}" for i in range(len(outputs))],
                              opset_version=17, dynamic_axes={"pixels": {0: "batch"}},
                              dynamo=False)
    return paths


def _outputs_module(module, outputs):
    """``module``'s taps as ONNX outputs: each a list of tap names, concatenated."""
    import torch

    class Outputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = module

        def forward(self, x):
            taps = self.module(x)
            return tuple(torch.cat([taps[key] for key in keys], dim=1) for keys in outputs)

    return Outputs().eval()


def backbone_ms(crops, cache, rounds):
    """Median ms per cell of each timing model (OpenVINO, 2 threads, batches of 16)."""
    import openvino

    from diagnostics.engine.efficientnet_lite import INPUT_MEAN, INPUT_STD
    from diagnostics.engine.preprocessing import (Preprocessing, normalise_array,
                                                  square_pixel_array)

    core, timings, compiled = openvino.Core(), {}, {}
    cells = crops[:512]
    for name, path in timing_models(cache).items():
        size = 96 if name == "in96" else 128
        preprocessing = Preprocessing(size, INPUT_MEAN, INPUT_STD)
        pixels = normalise_array(square_pixel_array(cells, preprocessing), preprocessing)
        model = core.compile_model(str(path), "CPU", {
            "INFERENCE_NUM_THREADS": 2, "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY"})
        compiled[name] = (model.create_infer_request(), pixels)
        timings[name] = []
    for _ in range(rounds):
        for name, (request, pixels) in compiled.items():
            started = time.perf_counter()
            for start in range(0, len(pixels), 16):
                request.infer({0: np.ascontiguousarray(pixels[start:start + 16])})
            timings[name].append(1000 * (time.perf_counter() - started) / len(pixels))
    return {name: float(np.median(values)) for name, values in timings.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "cric")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/celinsight-bethesda-shared"))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--heads", nargs="+", choices=["lightgbm", "lr"],
                        default=["lightgbm", "lr"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="fold seeds (0 is the shipped protocol; more show the noise)")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    crops, labels, groups = crops_labels_groups(args.data, 128)
    data = {"classes": np.array([CLASSES.index(label) for label in labels]), "groups": groups,
            "features": {}}
    for source in sorted({VARIANTS[name][0] for name in args.variants}):
        data["features"][source] = source_features(source, crops, args.cache)
    results = {name: {kind: [variant_figures(name, kind, seed, data, args.cache)
                             for seed in args.seeds] for kind in args.heads}
               for name in args.variants}
    timings = {} if args.no_timing else backbone_ms(crops, args.cache, args.rounds)
    print_table(results, timings, data, args)
    (args.cache / "results.json").write_text(json.dumps({"results": results,
                                                         "timings": timings}, indent=1))


def print_table(results, timings, data, args):
    if timings:
        print("backbone ms/cell (OpenVINO, 2 threads, median of "
              f"{args.rounds} rounds of 512 cells):",
              ", ".join(f"{name} {ms:.2f}" for name, ms in timings.items()))
    print("| variant | features | Bethesda backbone ms/cell | " + " | ".join(
        f"{kind}: accuracy / macro-F1 / sens@spec0.90" for kind in args.heads) + " |")
    print("|---|---:|---:|" + "---:|" * len(args.heads))
    for name, per_head in results.items():
        source, blocks, timing = VARIANTS[name]
        width = sum(data["features"][source][block].shape[1] for block in blocks)
        if not timings:
            cost = ""
        elif timing == "as-is":
            cost = "0 (morphology pass as shipped)"
        elif timing == "shared":
            cost = f"{timings['shared'] - timings['morphology']:+.2f} (shared pass)"
        else:
            cost = f"{timings[timing]:.2f}"
        cells = []
        for kind in args.heads:
            runs = np.array(per_head[kind])
            sens = " ".join(f"{value:.3f}" for value in runs[:, 2])
            cells.append(f"{runs[0, 0]:.3f} / {runs[0, 1]:.3f} / {sens}")
        print(f"| {name} | {width} | {cost} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
