"""write_mirax makes a MIRAX slide (.mrxs and its folder) that OpenSlide reads back as drawn,
at the microns per pixel it was given."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from diagnostics.engine.synthetic_slide import GLASS_RGB, SlideLayout, write_mirax
from diagnostics.engine.whole_slide import open_slide


def spotted_field(width=400, height=300):
    field = Image.new("RGB", (width, height), GLASS_RGB)
    draw = ImageDraw.Draw(field)
    for index in range(12):
        x, y = 30 + (index % 4) * 100, 40 + (index // 4) * 100
        draw.ellipse((x - 12, y - 12, x + 12, y + 12), fill=(90, 40, 120))
    return field


def test_a_written_mirax_slide_reads_back_as_drawn(tmp_path):
    layout = SlideLayout.grid([spotted_field()], width=1000, height=700, gap=50)
    path = write_mirax(tmp_path / "Scan 7.mrxs", layout, mpp=0.25)
    assert sorted(p.name for p in (tmp_path / "Scan 7").iterdir()) == [
        "Data0000.dat", "Index.dat", "Slidedat.ini"]
    with open_slide(path) as slide:
        assert slide.vendor == "mirax"
        assert slide.mpp == pytest.approx(0.25)
        width, height = slide.dimensions
        assert width >= 1000 and height >= 700  # whole camera images
        pixels = slide.read(0, 0, 0, 1000, 700).astype(int)
    difference = np.abs(pixels - layout.render(0, 0, 1000, 700).astype(int))
    assert difference.mean() < 3  # JPEG's error, nothing moved
