"""Fields of view for tests: real CRIC fields when the shared data set is there, and a
synthetic field of SIPaKMeD demo cells pasted on a pale background, which always is."""
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

SAMPLE_CELLS_DIR = Path(__file__).resolve().parents[2] / "demo" / "sample_cells"
CRIC_DIR = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cric"
# Where the synthetic field's cells are pasted (their centres), in a 640 x 480 field.
SYNTHETIC_CENTRES = [(100, 100), (320, 90), (540, 110), (110, 370), (330, 380), (540, 360)]


def png_upload(name, image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def synthetic_field(seed=0, size=(640, 480)):
    """A field of six demo cells on a background of the cells' own pale colour."""
    cells = sorted(SAMPLE_CELLS_DIR.glob("*.png"))[seed:seed + len(SYNTHETIC_CENTRES)]
    field = Image.new("RGB", size, (214, 208, 214))
    for (x, y), path in zip(SYNTHETIC_CENTRES, cells):
        with Image.open(path) as cell:
            field.paste(cell.convert("RGB"), (x - cell.width // 2, y - cell.height // 2))
    return field


def cric_field_paths(count):
    """The first ``count`` CRIC fields; the test is skipped where the data set is absent."""
    paths = sorted((CRIC_DIR / "images").glob("*.jpg"))[:count]
    if len(paths) < count:
        pytest.skip(f"CRIC fields not found at {CRIC_DIR}")
    return paths


def cric_uploads(count):
    return [SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/jpeg")
            for path in cric_field_paths(count)]
