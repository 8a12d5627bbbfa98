"""Train the cell (nucleus) detector: a thin wrapper around diagnostics.engine."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

SHIPPED_DETECTOR_DIR = settings.BASE_DIR / "diagnostics" / "trained_models" / "detector"


class Command(BaseCommand):
    help = ("Train a registered nucleus detector on fields of view with marked nuclei "
            "(CRIC: images/ + cells.csv): grouped 5-fold validation by image, then fit on "
            "every field and save the detector folder (metadata.json with figures per fold "
            "and pooled, sha256 of every file).")

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path,
                            default=settings.BASE_DIR.parent / "shared" / "datasets" / "cric",
                            help="CRIC-style folder: images/ and cells.csv (image, x, y)")
        parser.add_argument("--out", type=Path, default=SHIPPED_DETECTOR_DIR,
                            help="folder to write the detector into (default: the shipped "
                                 "one, %(default)s)")
        parser.add_argument("--detector", default=None,
                            help="registered detector name (default: the shipped one); "
                                 "see --list-detectors")
        parser.add_argument("--list-detectors", action="store_true",
                            help="print the registered detector names and exit")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--held-out-recall", type=float, default=None,
                            help="ship the highest threshold keeping this share of the marks "
                                 "on the folds' out-of-fold scores (e.g. 0.95; default: the "
                                 "threshold the detector fits for its target_recall)")
        parser.add_argument("--model-version", dest="version",
                            help="name of this detector version (default: name and time)")

    def handle(self, *args, data, out, detector, list_detectors, folds, seed, held_out_recall,
               version, **options):
        from diagnostics.engine.cell_detector import DETECTORS
        from diagnostics.engine.cell_detector_training import (DEFAULT_DETECTOR,
                                                               train_detector_folder)

        if list_detectors:
            self.stdout.write("\n".join(DETECTORS.names()))
            return
        name = detector or DEFAULT_DETECTOR
        if name not in DETECTORS:
            raise CommandError(f"Unknown detector {name!r}; available: "
                               f"{', '.join(DETECTORS.names())}")
        if not (data / "cells.csv").is_file():
            raise CommandError(f"{data} has no cells.csv; pass --data DIR with images/ and "
                               f"cells.csv (image, x, y per marked nucleus).")
        if held_out_recall is not None and not 0 < held_out_recall <= 1:
            raise CommandError(f"--held-out-recall must lie in (0, 1], not {held_out_recall}.")
        version = version or f"{name}-{timezone.now():%Y%m%d-%H%M%S}"

        def progress(fold, figures):
            self.stdout.write(f"fold {fold} at its fitted threshold {figures['threshold']:.3f}: "
                              f"recall {figures['recall']:.3f}, precision "
                              f">= {figures['precision_lower_bound']:.3f}, "
                              f"{figures['detections_per_image']:.0f} detections/image")

        metadata = train_detector_folder(data, out, name=name, version=version, n_folds=folds,
                                         seed=seed, progress=progress,
                                         held_out_recall=held_out_recall)
        pooled = metadata["validation"]["pooled"]
        self.stdout.write(self.style.SUCCESS(
            f"Saved {name} version {version} to {out}: pooled held-out recall@"
            f"{metadata['parameters']['match_radius']:g}px {pooled['recall']:.3f}, precision "
            f">= {pooled['precision_lower_bound']:.3f}, "
            f"{pooled['detections_per_image']:.0f} detections/image"))
