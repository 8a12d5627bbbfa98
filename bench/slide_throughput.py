"""Cells per second on a whole-slide image, and the worker's peak memory while scanning it.

    nice -n 5 .venv/bin/python bench/slide_throughput.py                     # 40,000 px slide
    .venv/bin/python bench/slide_throughput.py --slide some.svs              # a real slide
    .venv/bin/python bench/slide_throughput.py --size 20000 --tissue 6000    # smaller
    nice -n 5 .venv/bin/python bench/slide_throughput.py --classify          # + the classifier
    .venv/bin/python bench/slide_throughput.py --classify --cell-table /tmp/cells.parquet

Without --slide it writes (once) a synthetic pyramidal TIFF to /tmp: --size x --size pixels at
0.25 um/px (a 40x scanner), CRIC fields enlarged to that scale and tiled over a central
--tissue x --tissue square, glass elsewhere (a smear covers part of a slide). The slide is
written by a child process, so the peak RSS reported is the scan's alone: opening the slide,
the thumbnail and tissue mask, detection tile by tile and cutting every cell's crop (and with
--classify, the shipped morphology and Bethesda models on every crop as the lean worker runs
them: ONNX, no torch, one backbone pass a cell where the Bethesda model reads the morphology
model's, as the shipped pair does).
With --cell-table, every classified cell is written to the slide's Parquet cell table as the
worker writes it (diagnostics/engine/cell_table.py), and its bytes and flagged cells reported:
what a slide costs in storage (rows kept: CELINSIGHT_SLIDE_CELL_ROWS plus the flagged).
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from diagnostics.engine.cell_detector_artefact import load_detector  # noqa: E402
from diagnostics.engine.holdout import abnormal_classes  # noqa: E402
from diagnostics.engine.whole_slide import CRIC_MICRONS_PER_PIXEL, scan_slide  # noqa: E402


CRIC_IMAGES = REPO_ROOT.parent / "shared" / "datasets" / "cric" / "images"
DETECTOR_DIR = REPO_ROOT / "diagnostics" / "trained_models" / "detector"
CLASSIFIER_DIR = REPO_ROOT / "diagnostics" / "trained_models" / "default"
BETHESDA_DIR = REPO_ROOT / "diagnostics" / "trained_models" / "bethesda"
SCANNER_MPP = 0.25


def build_slide(path, size, tissue, fields=12):
    """Write the synthetic slide (run in a child process: its memory is not the scan's)."""
    from PIL import Image

    from diagnostics.engine.synthetic_slide import SlideLayout, write_pyramidal_tiff

    zoom = CRIC_MICRONS_PER_PIXEL / SCANNER_MPP
    images = [Image.open(p).convert("RGB") for p in sorted(CRIC_IMAGES.glob("*.jpg"))[:fields]]
    images = [image.resize((round(image.width * zoom), round(image.height * zoom)),
                           Image.BICUBIC) for image in images]
    block = SlideLayout.grid(images, tissue, tissue)
    offset = (size - tissue) // 2
    layout = SlideLayout(size, size, images,
                         [(left + offset, top + offset, index)
                          for left, top, index in block.positions])
    started = time.perf_counter()
    write_pyramidal_tiff(path, layout, mpp=SCANNER_MPP)
    print(f"wrote {path} ({Path(path).stat().st_size / 2 ** 20:.0f} MiB, "
          f"{len(layout.positions)} fields) in {time.perf_counter() - started:.0f} s")


def both_models(classifier, bethesda, crops):
    """The morphology and the Bethesda model's probabilities of ``crops``, as
    diagnostics.cell_predictions computes them (from one shared pass where it can)."""
    from diagnostics.engine.serving import reads_pass_of

    if not reads_pass_of(bethesda, classifier):
        return classifier.predict_proba(crops), bethesda.predict_proba(crops)
    features = bethesda.pixel_features(bethesda.prepare_pixels(crops))
    width = classifier.backbone_.num_features
    return (classifier.predict_proba_features(features[..., :width]),
            bethesda.predict_proba_features(features))


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slide", help="a slide to scan instead of the synthetic one")
    parser.add_argument("--size", type=int, default=40000)
    parser.add_argument("--tissue", type=int, default=9000)
    parser.add_argument("--tile-size", type=int, default=1024)
    parser.add_argument("--no-crops", action="store_true")
    parser.add_argument("--classify", action="store_true",
                        help="classify every crop with diagnostics/trained_models/default")
    parser.add_argument("--cell-table", help="with --classify: write the Parquet cell table here")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = Path(args.slide or f"/tmp/celinsight-slide-{args.size}-{args.tissue}.tiff")
    if args.build_only:
        return build_slide(path, args.size, args.tissue)
    if not path.exists():
        subprocess.run([sys.executable, __file__, "--build-only", "--size", str(args.size),
                        "--tissue", str(args.tissue)], check=True)

    detector = load_detector(DETECTOR_DIR)
    classifier = bethesda = None
    if args.classify:
        from diagnostics.engine.artefact import load_classifier
        classifier = load_classifier(CLASSIFIER_DIR, runtime="auto", threads=2)
        bethesda = load_classifier(BETHESDA_DIR, runtime="auto", threads=2)
    baseline = peak_rss_mib()
    started = time.perf_counter()
    scan = scan_slide(path, detector, tile_size=args.tile_size,
                      progress=lambda done, total: print(
                          f"\r{done}/{total} tiles, peak RSS {peak_rss_mib():.0f} MiB", end="",
                          file=sys.stderr, flush=True))
    planned = time.perf_counter() - started
    crops = classified = flagged = referred_cells = 0
    abnormal_category = np.isin(bethesda.classes_, abnormal_classes(bethesda.classes_)) \
        if bethesda else None
    interrupted = False
    table = None
    if args.cell_table and classifier is not None:
        from diagnostics.engine.cell_table import CellTableWriter
        table = CellTableWriter(args.cell_table, classifier.classes_, bethesda.classes_)
    try:
        for tile in scan:
            if args.no_crops and classifier is None:
                continue
            cell_crops = tile.crops()
            crops += len(cell_crops)
            if classifier is not None:
                probabilities, categories = both_models(classifier, bethesda, cell_crops)
                classified += len(probabilities)
                referred = classifier.needs_referral(probabilities)
                referred_cells += int(np.sum(referred))
                # Flagged as the worker flags a slide's cells: the Bethesda model's abnormal
                # categories (diagnostics.slide_cells.suspicious_cells).
                flagged += int(np.sum(abnormal_category[categories.argmax(axis=1)]))
                if table is not None:
                    table.write(tile.x, tile.y, tile.radius, tile.score, probabilities, referred,
                                categories)
    except KeyboardInterrupt:  # a time limit (timeout -s INT): report what was scanned
        interrupted = True
    if table is not None:
        table.close()
    seconds = time.perf_counter() - started
    read_tiles = scan.tiles_read
    figures = {
        "slide": str(path), "dimensions": scan.slide.dimensions, "mpp": scan.mpp,
        "mpp_assumed": scan.mpp_assumed, "level_read": scan.level,
        "tile_size": args.tile_size, "margin": scan.margin,
        "interrupted": interrupted, "tiles_done": scan.tiles_done,
        "tiles_total": scan.tiles_total, "tiles_skipped": scan.tiles_skipped,
        "tiles_read": read_tiles, "cells": scan.cells, "crops_cut": crops,
        "cells_classified": classified, "cells_flagged": flagged,
        "cells_referred_by_the_morphology_model": referred_cells,
        **({"cell_table_bytes": Path(args.cell_table).stat().st_size,
            "cell_table_bytes_per_cell": round(Path(args.cell_table).stat().st_size
                                               / max(classified, 1), 1)}
           if table is not None else {}),
        "seconds": round(seconds, 1), "seconds_thumbnail_and_mask": round(planned, 2),
        "cells_per_s": round(scan.cells / seconds, 1),
        "tiles_read_per_s": round(read_tiles / seconds, 2),
        "tiles_per_s_all": round(scan.tiles_done / seconds, 2),
        "peak_rss_mib": round(peak_rss_mib()),
        "rss_after_loading_detector_mib": round(baseline),
    }
    print(file=sys.stderr)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
