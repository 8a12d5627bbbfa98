"""Find the cells (nuclei) in images and write them as CSV: a thin wrapper around the engine."""

import csv
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from .train_detector import SHIPPED_DETECTOR_DIR

CSV_COLUMNS = ("image", "x", "y", "score")


class Command(BaseCommand):
    help = ("Detect the squamous cell nuclei in images (PNG, JPEG, TIFF, BMP; colour or "
            "grayscale) and write one CSV row per detection: image,x,y,score, with x, y in "
            "that image's own pixels. Prints seconds per image.")

    def add_arguments(self, parser):
        parser.add_argument("images", nargs="+", type=Path, help="image files")
        parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
        parser.add_argument("--model", type=Path, default=SHIPPED_DETECTOR_DIR,
                            help="detector folder (default: the shipped one, %(default)s)")
        parser.add_argument("--scale", type=float, default=1.0,
                            help="how many times larger nuclei look than in CRIC's fields "
                                 "(e.g. 2 for twice the magnification); default 1")

    def handle(self, *args, images, out, model, scale, **options):
        from diagnostics.engine.cell_detector_artefact import load_detector

        try:
            detector = load_detector(model)
        except (FileNotFoundError, ValueError, KeyError) as error:
            raise CommandError(f"Cannot load the detector from {model}: {error}") from error
        failed = []
        with open(out, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(CSV_COLUMNS)
            for path in images:
                started = time.perf_counter()
                try:
                    image = _read_image(path)
                except (OSError, ValueError) as error:
                    failed.append(path.name)
                    self.stderr.write(f"{path.name}: not an image Pillow can read ({error}); "
                                      f"skipped, the other images are processed.")
                    continue
                detections = detector.detect(image, scale=scale)
                for x, y, score, _radius in detections.rows():
                    writer.writerow([path.name, f"{x:.1f}", f"{y:.1f}", f"{score:.4f}"])
                self.stdout.write(f"{path.name}: {len(detections)} cells, "
                                  f"{time.perf_counter() - started:.2f} s")
        done = len(images) - len(failed)
        self.stdout.write(f"Wrote {out} ({done} of {len(images)} images).")
        if failed:
            raise CommandError(f"{len(failed)} of {len(images)} files could not be read "
                               f"({', '.join(failed)}); the other images' cells are in {out}.")


def _read_image(path):
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        # Keep grayscale as it is (the detector reads luminance); anything else becomes RGB.
        return image if image.mode in ("L", "I;16", "I", "F") else image.convert("RGB")
