"""Finding the cells of a whole-slide image, tile by tile, in bounded memory.

    slide = open_slide("specimen.svs")            # .svs .ndpi .mrxs .tif(f), DICOM file/folder
    scan = scan_slide(slide, load_detector("diagnostics/trained_models/detector"),
                      progress=lambda done, total: ...)
    for tile in scan:                              # one TileCells per tile that holds tissue
        tile.x, tile.y, tile.score, tile.radius   # level-0 slide pixels, best first
        crops = tile.crops()                       # cut on demand, classifier-ready
    scan.tiles_skipped, scan.mpp, scan.mpp_assumed

How (and why):

1. Scale. The detector was fitted on CRIC fields, so tiles are brought to CRIC's magnification
   (:data:`CRIC_MICRONS_PER_PIXEL`) before detection: the coarsest pyramid level that still has
   at least that resolution is read and resampled to it. A slide that records no microns per
   pixel is taken to be at CRIC's scale, and the scan says so (``mpp_assumed``).
2. Background. A thumbnail's optical density, thresholded by Otsu (within bounds, so an empty
   or a full slide is not split in two), marks tissue; tiles without any are never read.
3. Tiles. A regular grid of ``tile_size`` px cores (at CRIC scale); each is read with a
   ``margin`` around it (two nucleus diameters at least, half a crop at least), so no nucleus
   is cut and every crop is whole. A detection belongs to the tile whose core holds it (the
   tile whose centre is nearest), give or take half a nucleus: tiles see a nucleus on their
   shared edge a pixel or two apart, and strict cores can lose it on both sides. One found
   by two tiles is reported once, by the first (its edge context is as wide in both).
4. Memory. One tile and its crops at a time; the thumbnail and the detections near the
   previous row's edges are all that is kept. OpenSlide's tile cache is kept small.

No Django here.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .crops import DEFAULT_CROP_SIZE, cut_from_pixels

# CRIC's fields (1280 x 960, rescaled from a 1376 x 1020 camera frame, 40x objective) are
# about 0.275 um per pixel: a 6.45 um camera pixel through 40x and a 0.63x adapter is 0.256 um,
# times 1376 / 1280. It agrees with the detector's median nucleus, 23 px = 6.3 um, a normal
# squamous nucleus. An estimate, not a calibration: pass ``target_mpp`` when one is known.
CRIC_MICRONS_PER_PIXEL = 0.275
# The detector's nucleus size when its folder does not say (cell_detector_artefact).
DEFAULT_NUCLEUS_DIAMETER_PX = 23
# Tissue: optical density above Otsu's threshold of the thumbnail, kept within these bounds.
TISSUE_OD_BOUNDS = (0.04, 0.15)
THUMBNAIL_SIZE = 2048
# The thumbnail is read this many pixels at a time (a strip of a level, 64 MiB of RGBA).
THUMBNAIL_STRIP_PIXELS = 16 * 2 ** 20
# OpenSlide's decoded-tile cache; its default (32 MiB per slide) is fine, this bounds it.
OPENSLIDE_CACHE_BYTES = 64 * 2 ** 20


class SlideReader:
    """A whole-slide image read through OpenSlide (one library for every format we take).

    ``level_dimensions``/``level_downsamples`` as OpenSlide gives them; ``mpp`` the level-0
    microns per pixel (None when the file does not record it).
    """

    def __init__(self, path):
        import openslide

        path = Path(path)
        if path.is_dir():  # a DICOM WSI: OpenSlide opens the series from any of its files
            instances = sorted(p for p in path.iterdir() if p.is_file())
            if not instances:
                raise ValueError(f"Folder {path} holds no DICOM files to open as a slide.")
            path = instances[0]
        try:
            self._slide = openslide.OpenSlide(str(path))
        except openslide.OpenSlideError as error:
            raise ValueError(f"{path.name} is not a whole-slide image OpenSlide can read "
                             f"(.svs, .ndpi, .mrxs, pyramidal .tif, DICOM): {error}") from None
        self._slide.set_cache(openslide.OpenSlideCache(OPENSLIDE_CACHE_BYTES))
        self.path = path
        self.level_dimensions = self._slide.level_dimensions
        self.level_downsamples = self._slide.level_downsamples
        self.mpp = _read_mpp(self._slide.properties)
        self.vendor = self._slide.properties.get("openslide.vendor", "generic")

    @property
    def dimensions(self):
        return self.level_dimensions[0]

    def read(self, level, left, top, width, height):
        """(height, width, 3) uint8 RGB of ``level``, top-left at level-0 (left, top).

        Outside the scanned area (transparent in OpenSlide) reads as white glass.
        """
        region = np.asarray(self._slide.read_region((int(left), int(top)), level,
                                                    (int(width), int(height))))
        rgb, alpha = region[..., :3], region[..., 3:]
        if alpha.min() == 255:
            return np.ascontiguousarray(rgb)
        # OpenSlide returns premultiplied alpha: composite over white.
        return (rgb + (255 - alpha)).astype(np.uint8)

    def thumbnail(self, size=THUMBNAIL_SIZE):
        """An RGB array whose longer side is at most ``size`` (at least half of it where the
        slide is that large), from the smallest level that gives it, read in strips.

        OpenSlide's own get_thumbnail reads a whole level: the 40,000 px one when the
        pyramid has no level near ``size``.
        """
        fitting = [index for index, (width, height) in enumerate(self.level_dimensions)
                   if max(width, height) >= size // 2] or [0]
        level = max(fitting, key=lambda index: self.level_downsamples[index])
        width, height = self.level_dimensions[level]
        shrink = min(1.0, size / max(width, height))
        out_width = max(1, round(width * shrink))
        downsample = self.level_downsamples[level]
        strip = max(1, THUMBNAIL_STRIP_PIXELS // width)
        strips = []
        for top in range(0, height, strip):
            rows = min(strip, height - top)
            pixels = self.read(level, 0, top * downsample, width, rows)
            strips.append(np.asarray(Image.fromarray(pixels).resize(
                (out_width, max(1, round(rows * shrink))), Image.BILINEAR)))
        return np.concatenate(strips, axis=0)

    def close(self):
        self._slide.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_slide(path):
    """A :class:`SlideReader` for a slide file or a folder of DICOM WSI instances."""
    return SlideReader(path)


def _read_mpp(properties):
    for key in ("openslide.mpp-x", "openslide.mpp-y"):
        try:
            value = float(properties[key])
        except (KeyError, ValueError):
            continue
        if 0 < value < 100:
            return value
    return None


def tissue_mask(thumbnail, bounds=TISSUE_OD_BOUNDS):
    """(mask, threshold): pixels of ``thumbnail`` darker than glass, by Otsu on optical
    density, the threshold kept within ``bounds`` (so an all-glass thumbnail stays empty)."""
    from skimage.filters import threshold_otsu

    gray = thumbnail.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    glass = max(float(np.percentile(gray, 99)), 1.0)
    density = -np.log(np.clip(gray / glass, 1e-3, 1.0))
    threshold = float(np.clip(threshold_otsu(density) if np.ptp(density) > 0 else 0, *bounds))
    return density > threshold, threshold


@dataclass
class TileCells:
    """The cells found in one tile: level-0 slide coordinates, best score first.

    It holds the tile's pixels until dropped (for :meth:`crops`): keep the arrays, or what
    the crops gave, rather than the TileCells, or memory grows with the slide.
    """
    row: int
    column: int
    x: np.ndarray
    y: np.ndarray
    score: np.ndarray
    radius: np.ndarray
    _pixels: np.ndarray        # the tile at detection scale, with its margin
    _local: np.ndarray         # (N, 2) centres in _pixels
    crop_size: int

    def __len__(self):
        return len(self.x)

    def crops(self):
        """One ``crop_size`` RGB PIL crop per cell, at the detector's (CRIC's) scale."""
        return [Image.fromarray(cut_from_pixels(self._pixels, x, y, self.crop_size))
                for x, y in self._local]


class SlideScan:
    """An iterable scan of a slide (see :func:`scan_slide`); figures fill in as it runs."""

    def __init__(self, slide, detector, tile_size=1024, margin=None, crop_size=DEFAULT_CROP_SIZE,
                 target_mpp=CRIC_MICRONS_PER_PIXEL, progress=None):
        self.slide, self.detector, self.tile_size = slide, detector, int(tile_size)
        self.crop_size, self.progress = int(crop_size), progress
        self.nucleus_diameter = _nucleus_diameter(detector)
        # Wide enough for a crop around a cell up to half a nucleus outside the core.
        self.margin = int(margin if margin is not None else
                          max(2 * self.nucleus_diameter,
                              crop_size // 2 + self.nucleus_diameter // 2 + 1))
        self.mpp_assumed = slide.mpp is None
        self.mpp = target_mpp if self.mpp_assumed else slide.mpp
        self.target_mpp = target_mpp
        # Level-0 pixels per detection-scale pixel, and the level read for it.
        self.to_level0 = target_mpp / self.mpp
        self.level = _coarsest_level_at_least(slide.level_downsamples, self.to_level0)
        width, height = slide.dimensions
        self.width, self.height = (int(np.ceil(width / self.to_level0)),
                                   int(np.ceil(height / self.to_level0)))
        self.rows = -(-self.height // self.tile_size)
        self.columns = -(-self.width // self.tile_size)
        self.tiles_total = self.rows * self.columns
        self._tissue = self._tissue_tiles()
        self.tiles_skipped = self.tiles_total - int(self._tissue.sum())
        self.tiles_done = self.tiles_read = self.cells = 0

    def _tissue_tiles(self):
        mask, self.tissue_threshold = tissue_mask(self.slide.thumbnail())
        # Thumbnail pixels per detection-scale pixel, on each axis.
        scale_y, scale_x = mask.shape[0] / self.height, mask.shape[1] / self.width
        tissue = np.zeros((self.rows, self.columns), dtype=bool)
        reach = self.margin
        for row in range(self.rows):
            top = max(0, int((row * self.tile_size - reach) * scale_y))
            bottom = int(np.ceil(((row + 1) * self.tile_size + reach) * scale_y))
            for column in range(self.columns):
                left = max(0, int((column * self.tile_size - reach) * scale_x))
                right = int(np.ceil(((column + 1) * self.tile_size + reach) * scale_x))
                tissue[row, column] = mask[top:bottom + 1, left:right + 1].any()
        return tissue

    def __iter__(self):
        edges = {}  # (row, column) -> level-0 (x, y) of cells near that tile's core edges
        self._report()
        for row in range(self.rows):
            for column in range(self.columns):
                if self._tissue[row, column]:
                    cells = self._scan_tile(row, column, edges)
                    self.tiles_read += 1
                    self.cells += len(cells)
                else:
                    cells = None
                self.tiles_done += 1
                self._report()
                if cells is not None and len(cells):
                    yield cells
            for key in [key for key in edges if key[0] < row]:
                del edges[key]

    def _report(self):
        if self.progress is not None:
            self.progress(self.tiles_done, self.tiles_total)

    def _read_window(self, left, top, width, height):
        # Detection-scale window -> level-0 origin, level pixels, then resampled.
        downsample = self.slide.level_downsamples[self.level]
        level_width = max(1, int(round(width * self.to_level0 / downsample)))
        level_height = max(1, int(round(height * self.to_level0 / downsample)))
        pixels = self.slide.read(self.level, left * self.to_level0, top * self.to_level0,
                                 level_width, level_height)
        if (level_width, level_height) != (width, height):
            pixels = np.asarray(Image.fromarray(pixels).resize((width, height), Image.BILINEAR))
        return pixels

    def _scan_tile(self, row, column, edges):
        size, margin = self.tile_size, self.margin
        core_left, core_top = column * size, row * size
        core_right = min(core_left + size, self.width)
        core_bottom = min(core_top + size, self.height)
        left, top = max(0, core_left - margin), max(0, core_top - margin)
        right = min(self.width, core_right + margin)
        bottom = min(self.height, core_bottom + margin)
        pixels = self._read_window(left, top, right - left, bottom - top)
        found = self.detector.detect(pixels)
        x, y = found.x + left, found.y + top
        # A nucleus on a core edge may be placed a pixel outside the core by every tile that
        # sees it; a tile takes those within half a nucleus of its core, and the first to
        # report one wins (see _not_seen_across_edges).
        slack = self.nucleus_diameter / 2
        own = ((x >= core_left - slack) & (x < core_right + slack) &
               (y >= core_top - slack) & (y < core_bottom + slack))
        found, x, y = found.subset(own), x[own], y[own]
        x0, y0 = (x + 0.5) * self.to_level0 - 0.5, (y + 0.5) * self.to_level0 - 0.5
        keep = self._not_seen_across_edges(row, column, x0, y0, x - core_left, y - core_top,
                                           core_right - core_left, core_bottom - core_top,
                                           edges)
        local = np.column_stack([x - left, y - top])[keep]
        return TileCells(row, column, x0[keep], y0[keep], found.score[keep],
                         found.radius[keep] * self.to_level0, pixels, local, self.crop_size)

    def _not_seen_across_edges(self, row, column, x0, y0, core_x, core_y, core_width,
                               core_height, edges):
        # A nucleus near a core edge can be reported by two tiles, a pixel or two apart: the
        # tile scanned first keeps it. Only cells within a diameter of an edge are compared,
        # with the tiles before this one (row above, the left neighbour).
        reach = self.nucleus_diameter
        keep = np.ones(len(x0), dtype=bool)
        earlier = [edges.get((row + dr, column + dc)) for dr, dc in
                   ((-1, -1), (-1, 0), (-1, 1), (0, -1))]
        earlier = [points for points in earlier if points is not None and len(points)]
        if earlier and len(x0):
            from scipy.spatial import cKDTree
            tree = cKDTree(np.vstack(earlier))
            distance, _ = tree.query(np.column_stack([x0, y0]))
            keep = distance > reach * self.to_level0
        near_edge = ((core_x < reach) | (core_y < reach) | (core_x > core_width - reach) |
                     (core_y > core_height - reach)) & keep
        edges[(row, column)] = np.column_stack([x0[near_edge], y0[near_edge]])
        return keep


def _coarsest_level_at_least(downsamples, wanted):
    """The index of the coarsest level not coarser than ``wanted`` (5% leeway)."""
    fitting = [index for index, downsample in enumerate(downsamples)
               if downsample <= wanted * 1.05]
    return max(fitting, key=lambda index: downsamples[index]) if fitting else 0


def _nucleus_diameter(detector):
    scale = (getattr(detector, "metadata_", None) or {}).get("scale", {})
    return int(scale.get("nucleus_diameter_px", DEFAULT_NUCLEUS_DIAMETER_PX))


def scan_slide(slide, detector, progress=None, **options):
    """Scan ``slide`` (a :class:`SlideReader`, or a path) for cells with ``detector``.

    Returns a :class:`SlideScan`: iterate it for one :class:`TileCells` per tile with cells;
    ``progress(tiles_done, tiles_total)`` is called after every tile, skipped ones included.
    ``options``: ``tile_size`` (1024), ``margin``, ``crop_size``, ``target_mpp``.
    """
    if not isinstance(slide, SlideReader):
        slide = open_slide(slide)
    return SlideScan(slide, detector, progress=progress, **options)
