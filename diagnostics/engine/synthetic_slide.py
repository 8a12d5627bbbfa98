"""Synthetic whole-slide images made of real fields of view, for tests and benchmarks.

    layout = SlideLayout.grid(fields, width=3000, height=2000, every=2)
    write_pyramidal_tiff("slide.tiff", layout, mpp=0.25)
    write_dicom_wsi("folder", layout, mpp=0.25)       # one .dcm instance per level
    write_mirax("slide.mrxs", layout, mpp=0.25)       # + the folder slide/ (one level)

Fields (PIL images at the slide's level-0 scale) are pasted on blank glass; the pyramid is
written tile by tile from the layout (each level rendered from pre-shrunk fields), so a
40,000 x 40,000 slide is written without ever holding a level in memory.
"""

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# Glass behind the smear: the bright background of a CRIC field (median of its brightest
# pixels), so pasted fields have no visible border.
GLASS_RGB = (226, 226, 222)
TILE = 256


@dataclass
class SlideLayout:
    """Where each field lies on a slide of ``width`` x ``height`` level-0 pixels."""
    width: int
    height: int
    fields: list          # PIL images
    positions: list       # (left, top, field index)

    @classmethod
    def grid(cls, fields, width, height, gap=80, every=1):
        """Fields in rows, ``gap`` px of glass between them; only every ``every``-th grid
        place holds a field (the rest stays glass, for background tiles)."""
        field_width, field_height = fields[0].size
        positions, place = [], 0
        for top in range(gap, height - field_height + 1, field_height + gap):
            for left in range(gap, width - field_width + 1, field_width + gap):
                if place % every == 0:
                    positions.append((left, top, (place // every) % len(fields)))
                place += 1
        return cls(width, height, list(fields), positions)

    def render(self, left, top, width, height, downsample=1, shrunk=None):
        """The (height, width, 3) uint8 pixels of the region at ``downsample``, whose
        top-left is (left, top) in that level's pixels."""
        tile = np.empty((height, width, 3), dtype=np.uint8)
        tile[...] = GLASS_RGB
        for field_left, field_top, index in self.positions:
            field = shrunk[index] if shrunk else np.asarray(self.fields[index].convert("RGB"))
            x, y = int(field_left / downsample), int(field_top / downsample)
            field_height, field_width = field.shape[:2]
            x0, y0 = max(x, left), max(y, top)
            x1, y1 = min(x + field_width, left + width), min(y + field_height, top + height)
            if x0 < x1 and y0 < y1:
                tile[y0 - top:y1 - top, x0 - left:x1 - left] = field[y0 - y:y1 - y, x0 - x:x1 - x]
        return tile

    def level_tiles(self, downsample):
        """The tiles of the level ``downsample`` times smaller, row by row (tifffile order)."""
        shrunk = [np.asarray(field.convert("RGB").resize(
            (max(1, round(field.width / downsample)), max(1, round(field.height / downsample))),
            Image.BILINEAR)) for field in self.fields]
        width, height = -(-self.width // downsample), -(-self.height // downsample)
        for top in range(0, height, TILE):
            for left in range(0, width, TILE):
                yield self.render(left, top, TILE, TILE, downsample, shrunk)


def write_pyramidal_tiff(path, layout, mpp, levels=None, compression="jpeg"):
    """Write ``layout`` as a tiled, pyramidal TIFF (levels 1, 4, 16... as successive pages,
    the generic layout OpenSlide and tiffslide read) with ``mpp`` microns per pixel in its
    resolution tags (None: none). Returns the path."""
    import tifffile

    if levels is None:
        levels = 1
        while max(layout.width, layout.height) / 4 ** levels >= 256:
            levels += 1
    # Pixels per centimetre; no mpp writes no resolution (a slide that does not say).
    resolution = None if mpp is None else 1e4 / mpp
    with tifffile.TiffWriter(path, bigtiff=True) as tiff:
        for level in range(levels):
            downsample = 4 ** level
            shape = (-(-layout.height // downsample), -(-layout.width // downsample), 3)
            tiff.write(layout.level_tiles(downsample), shape=shape, dtype=np.uint8,
                       tile=(TILE, TILE), photometric="rgb", compression=compression,
                       subfiletype=1 if level else 0, **_resolution_tags(resolution, downsample),
                       maxworkers=1)
    return path


def _resolution_tags(resolution, downsample):
    if resolution is None:
        return {"resolutionunit": "NONE"}
    return {"resolution": (resolution / downsample, resolution / downsample),
            "resolutionunit": "CENTIMETER"}


def write_dicom_wsi(folder, layout, mpp, levels=2):
    """Write ``layout`` as a DICOM WSI series in ``folder``: one VL Whole Slide Microscopy
    instance per pyramid level (1, 4, 16...), tiled-full, uncompressed RGB frames, with
    ``mpp`` as its pixel spacing. Returns the folder."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    for level in range(levels):
        downsample = 4 ** level
        width, height = -(-layout.width // downsample), -(-layout.height // downsample)
        frames = b"".join(tile.tobytes() for tile in layout.level_tiles(downsample))
        instance = generate_uid()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = WSI_SOP_CLASS
        meta.MediaStorageSOPInstanceUID = instance
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        data = Dataset()
        data.file_meta = meta
        data.SOPClassUID, data.SOPInstanceUID = WSI_SOP_CLASS, instance
        data.StudyInstanceUID, data.SeriesInstanceUID = study, series
        data.FrameOfReferenceUID = frame_of_reference
        data.Modality, data.PatientName, data.PatientID = "SM", "Synthetic^Slide", "synthetic"
        data.ContainerIdentifier, data.SpecimenDescriptionSequence = "synthetic", []
        data.ImageType = ["ORIGINAL" if level == 0 else "DERIVED", "PRIMARY", "VOLUME",
                          "NONE" if level == 0 else "RESAMPLED"]
        data.InstanceNumber, data.SeriesNumber = level + 1, 1
        data.DimensionOrganizationType = "TILED_FULL"
        data.TotalPixelMatrixColumns, data.TotalPixelMatrixRows = width, height
        data.TotalPixelMatrixFocalPlanes = 1
        data.Rows = data.Columns = TILE
        data.NumberOfFrames = (-(-width // TILE)) * (-(-height // TILE))
        data.SamplesPerPixel, data.PhotometricInterpretation = 3, "RGB"
        data.PlanarConfiguration = 0
        data.BitsAllocated, data.BitsStored, data.HighBit, data.PixelRepresentation = 8, 8, 7, 0
        spacing_mm = mpp * downsample / 1000
        data.ImagedVolumeWidth, data.ImagedVolumeHeight = width * spacing_mm, height * spacing_mm
        data.ImagedVolumeDepth = 0.001
        measures = Dataset()
        measures.PixelSpacing = [spacing_mm, spacing_mm]
        measures.SliceThickness = 0.001
        shared = Dataset()
        shared.PixelMeasuresSequence = [measures]
        data.SharedFunctionalGroupsSequence = [shared]
        optical_path = Dataset()
        optical_path.OpticalPathIdentifier = "1"
        data.OpticalPathSequence = [optical_path]
        data.NumberOfOpticalPaths = 1
        data.PixelData = frames
        data.save_as(folder / f"level-{level}.dcm", enforce_file_format=True)
    return folder


# VL Whole Slide Microscopy Image Storage
WSI_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"


def write_mirax(path, layout, mpp, tile=TILE):
    """Write ``layout`` as a one-level MIRAX slide: ``path`` (a .mrxs file) and the folder of
    the same name beside it, holding Slidedat.ini, Index.dat and Data0000.dat (the JPEG
    camera images, ``tile`` px a side, abutting) and the position buffer OpenSlide reads.
    Returns the .mrxs path."""
    path = Path(path)
    folder = path.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    across, down = -(-layout.width // tile), -(-layout.height // tile)
    records, positions = [], bytearray()
    with open(folder / "Data0000.dat", "wb") as data:
        for row in range(down):
            for column in range(across):
                offset = data.tell()
                Image.fromarray(layout.render(column * tile, row * tile, tile, tile)).save(
                    data, format="JPEG", quality=90)
                records.append((row * across + column, offset, data.tell() - offset))
                positions += struct.pack("<bii", 1, column * tile, row * tile)
        position_offset = data.tell()
        data.write(positions)
    slide_id = "0123456789abcdef0123456789abcdef"
    (folder / "Index.dat").write_bytes(
        _mirax_index(slide_id, records, (position_offset, len(positions))))
    (folder / "Slidedat.ini").write_text(_MIRAX_SLIDEDAT.format(
        slide_id=slide_id, across=across, down=down, tile=tile, mpp=mpp))
    path.write_bytes(b"synthetic MIRAX slide\n")
    return path


def _mirax_index(slide_id, tiles, position_record):
    """Index.dat: version, slide id, the pointers to the hierarchical (zoom level 0: one page
    of tile records) and non-hierarchical (the position buffer) roots, then those."""
    header = MIRAX_INDEX_VERSION.encode() + slide_id.encode()
    hier_root = len(header) + 8
    # hier root -> level 0 pointer -> (0, page) -> page: count, next, records
    level_pointer = hier_root + 4
    page = level_pointer + 8
    page_bytes = struct.pack("<ii", len(tiles), 0) + b"".join(
        struct.pack("<iiii", index, offset, length, 0) for index, offset, length in tiles)
    nonhier_root = page + len(page_bytes)
    record_pointer = nonhier_root + 4
    record_page = record_pointer + 8
    return (header + struct.pack("<ii", hier_root, nonhier_root)
            + struct.pack("<i", level_pointer) + struct.pack("<ii", 0, page) + page_bytes
            + struct.pack("<i", record_pointer) + struct.pack("<ii", 0, record_page)
            + struct.pack("<iiiiiii", 1, 0, 0, 0, *position_record, 0))


MIRAX_INDEX_VERSION = "01.02"
_MIRAX_SLIDEDAT = """[GENERAL]
SLIDE_VERSION = 01.02
SLIDE_ID = {slide_id}
IMAGENUMBER_X = {across}
IMAGENUMBER_Y = {down}
OBJECTIVE_MAGNIFICATION = 40
CameraImageDivisionsPerSide = 1

[HIERARCHICAL]
HIER_COUNT = 1
HIER_0_NAME = Slide zoom level
HIER_0_COUNT = 1
HIER_0_VAL_0 = ZoomLevel_0
HIER_0_VAL_0_SECTION = LAYER_0_LEVEL_0_SECTION
NONHIER_COUNT = 1
NONHIER_0_NAME = VIMSLIDE_POSITION_BUFFER
NONHIER_0_COUNT = 1
NONHIER_0_VAL_0 = default
NONHIER_0_VAL_0_SECTION = NONHIER_0_VAL_0_SECTION
INDEXFILE = Index.dat

[LAYER_0_LEVEL_0_SECTION]
OVERLAP_X = 0
OVERLAP_Y = 0
MICROMETER_PER_PIXEL_X = {mpp}
MICROMETER_PER_PIXEL_Y = {mpp}
IMAGE_FORMAT = JPEG
IMAGE_FILL_COLOR_BGR = 14607074
DIGITIZER_WIDTH = {tile}
DIGITIZER_HEIGHT = {tile}
IMAGE_CONCAT_FACTOR = 0

[NONHIER_0_VAL_0_SECTION]

[DATAFILE]
FILE_COUNT = 1
FILE_0 = Data0000.dat
"""
