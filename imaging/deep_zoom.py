"""Deep Zoom (DZI) tiles of a field of view or a whole slide, for the zoomable viewer.

    tiles = deep_zoom_for(field.image)       # FieldTiles or openslide's DeepZoomGenerator
    tiles.get_dzi("jpeg")                    # the descriptor OpenSeadragon reads
    tiles.get_tile(level, (column, row))     # an RGB PIL image; ValueError if out of range

A field's stored image is decoded once and halved level by level on demand (Pillow), kept in
a cache bounded by pixels; a whole slide is read with OpenSlide through its DeepZoomGenerator,
from the stored file, or from a local copy where the storage (S3) has no paths. Both are
kept between requests (the viewer asks for dozens of tiles a second) in bounded caches; an
entry is dropped, never closed, so a request still reading it finishes (OpenSlide closes its
handle when the last reference goes).
"""
import math
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path, PurePosixPath

from PIL import Image

from imaging.models import ImageAsset
from imaging.slide_parts import copy_to, parts_folder, stored_parts

TILE_SIZE = 254  # with a pixel of overlap on each side: 256, as OpenSeadragon prefers
OVERLAP = 1
TILE_FORMAT = "jpeg"
JPEG_QUALITY = 85
# Decoded fields kept per process: 48 MP (about 190 MB of RGB with their smaller levels)
# holds the largest upload (UPLOAD_MAX_IMAGE_PIXELS, 40 MP) or dozens of camera fields.
FIELD_CACHE_PIXELS = 48_000_000
OPEN_SLIDES = 4  # open OpenSlide handles, and local copies of slides from S3, per process
SLIDE_COPIES_DIR = Path(tempfile.gettempdir()) / "celinsight-slide-copies"


class BoundedCache:
    """Least recently used entries up to ``limit`` in total cost; thread-safe. An entry
    costlier than the limit is made and returned, not kept."""

    def __init__(self, limit):
        self.limit, self._entries, self._lock = limit, OrderedDict(), threading.Lock()

    def get(self, key, make, cost=lambda value: 1):
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key][0]
        value = make()  # outside the lock: a slow decode must not hold up other images
        price = cost(value)
        with self._lock:
            if price <= self.limit:
                self._entries[key] = (value, price)
                while sum(entry[1] for entry in self._entries.values()) > self.limit:
                    self._entries.popitem(last=False)
        return value

    def clear(self):
        with self._lock:
            self._entries.clear()


class FieldTiles:
    """Deep Zoom tiles of one decoded image: the DeepZoomGenerator interface, from Pillow.

    Level ``level_count - 1`` is the image itself; each level below is half the one above
    (rounded up, as the DZI format counts), made when first asked for and kept."""

    def __init__(self, picture, tile_size=TILE_SIZE, overlap=OVERLAP):
        self.tile_size, self.overlap = tile_size, overlap
        self.width, self.height = picture.size
        self.level_count = math.ceil(math.log2(max(self.width, self.height, 1))) + 1
        self._levels = {self.level_count - 1: picture}
        self._lock = threading.Lock()

    @property
    def pixels(self):
        return self.width * self.height * 4 // 3  # the image and its smaller levels

    def level_size(self, level):
        scale = 2 ** (self.level_count - 1 - level)
        return math.ceil(self.width / scale), math.ceil(self.height / scale)

    @property
    def level_tiles(self):
        """(columns, rows) of tiles of each level, as DeepZoomGenerator gives them."""
        return tuple(tuple(math.ceil(side / self.tile_size) for side in self.level_size(level))
                     for level in range(self.level_count))

    def level_image(self, level):
        with self._lock:
            return self._level(level)

    def _level(self, level):
        if level not in self._levels:
            self._levels[level] = self._level(level + 1).resize(self.level_size(level),
                                                                Image.BOX)
        return self._levels[level]

    def get_tile(self, level, address):
        column, row = address
        if not 0 <= level < self.level_count:
            raise ValueError(f"Invalid level {level}")
        width, height = self.level_size(level)
        columns, rows = self.level_tiles[level]
        if not (0 <= column < columns and 0 <= row < rows):
            raise ValueError(f"Invalid address {address}")
        left = column * self.tile_size - (self.overlap if column else 0)
        top = row * self.tile_size - (self.overlap if row else 0)
        right = min(width, (column + 1) * self.tile_size + self.overlap)
        bottom = min(height, (row + 1) * self.tile_size + self.overlap)
        return self.level_image(level).crop((left, top, right, bottom))

    def get_dzi(self, format):
        return dzi_xml(self.width, self.height, self.tile_size, self.overlap, format)


def dzi_xml(width, height, tile_size, overlap, format):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="{format}" '
            f'Overlap="{overlap}" TileSize="{tile_size}"><Size Width="{width}" '
            f'Height="{height}"/></Image>\n')


fields_cache = BoundedCache(FIELD_CACHE_PIXELS)
slides_cache = BoundedCache(OPEN_SLIDES)


def deep_zoom_for(image):
    """The Deep Zoom tiles of a stored field or slide image (cached; keyed by its content).
    OSError or ValueError where the stored file cannot be read."""
    key = (image.pk, image.sha256)
    if image.kind == ImageAsset.Kind.SLIDE:
        return slides_cache.get(key, lambda: slide_tiles(image.file, image.sha256))
    return fields_cache.get(key, lambda: FieldTiles(decoded_field(image.file)),
                            cost=lambda tiles: tiles.pixels)


def decoded_field(stored_file):
    with stored_file.open("rb") as stored:
        picture = Image.open(stored)
        picture.load()
    return picture if picture.mode == "RGB" else picture.convert("RGB")


def slide_tiles(stored_file, sha256):
    import openslide
    from openslide.deepzoom import DeepZoomGenerator

    try:
        slide = openslide.OpenSlide(local_slide_path(stored_file, sha256))
    except openslide.OpenSlideError as error:
        raise ValueError(f"the stored slide could not be opened ({error})") from None
    return DeepZoomGenerator(slide, tile_size=TILE_SIZE, overlap=OVERLAP, limit_bounds=False)


def local_slide_path(stored_file, sha256):
    """The stored slide's path, or a local copy's (named by its content, kept for the next
    requests; only the OPEN_SLIDES newest copies are kept) where the storage has none."""
    try:
        return stored_file.path
    except NotImplementedError:
        pass
    SLIDE_COPIES_DIR.mkdir(parents=True, exist_ok=True)
    copy = SLIDE_COPIES_DIR / sha256
    name = PurePosixPath(stored_file.name)
    folder = parts_folder(stored_file.name)  # a slide of several files (.mrxs, DICOM)
    if not copy.exists():
        partial = Path(tempfile.mkdtemp(dir=SLIDE_COPIES_DIR))
        if folder is None:
            copy_to(stored_file.storage, stored_file.name, partial / name.name)
        for part in stored_parts(stored_file.storage, folder) if folder else []:
            copy_to(stored_file.storage, part, partial / PurePosixPath(part).relative_to(folder))
        partial.replace(copy)  # whole or absent: never a half-copied slide
    copy.touch()
    forget_old_copies(keep=OPEN_SLIDES)
    return str(copy / (name.relative_to(folder) if folder else name.name))


def forget_old_copies(keep):
    # An open handle keeps reading a deleted file (POSIX); the next request copies it anew.
    copies = sorted(SLIDE_COPIES_DIR.iterdir(), key=modified_at)
    for old in copies[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def modified_at(path):
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed by another process meanwhile
        return 0.0
