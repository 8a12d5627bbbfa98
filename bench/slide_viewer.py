"""What the zoomable viewer (imaging.viewer) costs the web process per request, without the
database: Deep Zoom tiles of a field (Pillow) and of a whole slide (OpenSlide), JPEG encoding
included, and the cells JSON of a slide's Parquet table.

    .venv/bin/python bench/slide_viewer.py --slide-side 16384 --cells 50000

Prints: a CRIC field's first tile (decode included) and its cached tiles' ms each; a
synthetic pyramidal TIFF's full-resolution and overview tiles' ms each; for a table of
``--cells`` cells, the first read's ms and, for the whole slide (capped at MARKS_PER_REQUEST)
and for one screen (1,000 x 700 px), the JSON's ms and bytes.
"""
import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celinsight.settings")
django.setup()

from PIL import Image  # noqa: E402

from diagnostics.engine.cell_table import CellTableWriter  # noqa: E402
from diagnostics.engine.synthetic_slide import SlideLayout, write_pyramidal_tiff  # noqa: E402
from imaging import deep_zoom, viewer_cells  # noqa: E402
from tests.imaging.field_images import CRIC_DIR, synthetic_field  # noqa: E402


class LocalFile:
    """A stored file's interface (name, path, open) over a local path."""

    def __init__(self, path):
        self.name = self.path = str(path)

    def open(self, mode):
        return open(self.path, mode)


def jpeg_ms(tiles, addresses):
    timings = []
    for level, address in addresses:
        started = time.perf_counter()
        buffer = io.BytesIO()
        tiles.get_tile(level, address).convert("RGB").save(buffer, "JPEG",
                                                           quality=deep_zoom.JPEG_QUALITY)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def every_address(tiles, levels):
    return [(level, (column, row)) for level in levels
            for column in range(tiles.level_tiles[level][0])
            for row in range(tiles.level_tiles[level][1])]


def field_figures(folder):
    cric = sorted((CRIC_DIR / "images").glob("*.jpg"))
    path = cric[0] if cric else folder / "field.png"
    if not cric:
        synthetic_field(size=(1280, 960)).save(path)
    started = time.perf_counter()
    tiles = deep_zoom.FieldTiles(deep_zoom.decoded_field(LocalFile(path)))
    first = jpeg_ms(tiles, [(tiles.level_count - 1, (0, 0))])[0]
    print(f"field {path.name} {tiles.width} x {tiles.height}: decode + first tile "
          f"{(time.perf_counter() - started) * 1000:.1f} ms")
    cached = jpeg_ms(tiles, every_address(tiles, range(tiles.level_count)))
    print(f"  {len(cached)} tiles, every level, cached: median {statistics.median(cached):.1f} "
          f"ms, max {max(cached):.1f} ms (first tile alone {first:.1f} ms)")


def slide_figures(folder, side):
    field = synthetic_field(size=(1280, 960))
    layout = SlideLayout.grid([field], width=side, height=side, gap=200, every=2)
    started = time.perf_counter()
    path = write_pyramidal_tiff(folder / "slide.tiff", layout, mpp=0.275)
    print(f"slide {side} x {side} written in {time.perf_counter() - started:.0f} s "
          f"({path.stat().st_size / 2 ** 20:.0f} MiB)")
    tiles = deep_zoom.slide_tiles(LocalFile(path), "bench")
    top = tiles.level_count - 1
    columns, rows = tiles.level_tiles[top]
    random = np.random.default_rng(0)
    sample = [(top, (int(random.integers(columns)), int(random.integers(rows))))
              for _ in range(200)]
    full = jpeg_ms(tiles, sample)
    print(f"  200 random full-resolution tiles: median {statistics.median(full):.1f} ms, "
          f"max {max(full):.1f} ms")
    overview = jpeg_ms(tiles, every_address(tiles, range(top - 6, top - 3)))
    print(f"  {len(overview)} overview tiles (levels {top - 6}-{top - 4}, 1/64-1/16 scale): "
          f"median {statistics.median(overview):.1f} ms, max {max(overview):.1f} ms")


def cell_figures(folder, cells, side):
    random = np.random.default_rng(0)
    classes = ["Dyskeratotic", "Koilocytotic", "Metaplastic", "Parabasal",
               "Superficial-Intermediate"]
    probabilities = random.dirichlet(np.ones(len(classes)), cells)
    path = folder / "cells.parquet"
    with CellTableWriter(path, classes) as table:
        table.write(random.uniform(0, side, cells), random.uniform(0, side, cells),
                    np.full(cells, 11.0), random.uniform(0.3, 1, cells), probabilities,
                    random.random(cells) < 0.1)
    started = time.perf_counter()
    marks = viewer_cells.table_marks(LocalFile(path))
    print(f"cell table of {cells} cells ({path.stat().st_size / 2 ** 20:.1f} MiB): read in "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    specimen = type("Specimen", (), {"pk": 1})()
    screen = (side / 2, side / 2, side / 2 + 1000, side / 2 + 700)
    for name, region in (("whole slide", None), ("one screen, 1000 x 700 px", screen)):
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            body = json.dumps(viewer_cells.region_json(specimen, marks, {}, region, False))
            timings.append((time.perf_counter() - started) * 1000)
        answer = json.loads(body)
        print(f"  {name}: {answer['shown']} of {answer['in_region']} cells, "
              f"median {statistics.median(timings):.1f} ms, {len(body) / 1024:.0f} KiB JSON")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slide-side", type=int, default=16384)
    parser.add_argument("--cells", type=int, default=50000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        field_figures(Path(folder))
        slide_figures(Path(folder), options.slide_side)
        cell_figures(Path(folder), options.cells, options.slide_side)


if __name__ == "__main__":
    Image.MAX_IMAGE_PIXELS = None
    main()
