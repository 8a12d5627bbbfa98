"""A Grad-CAM overlay stored by the worker appears in the open gallery, with no reload."""
import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from diagnostics.models import CellResult

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_overlay_appears_in_the_open_gallery_when_the_worker_stores_it(
        new_page, log_in, screenshot, doctor, specimen, make_result, sample_cell_paths):
    flagged = make_result(specimen, {"Koilocytotic": 0.55, "Superficial-Intermediate": 0.45},
                          refer=True)
    flagged.image.file.save("cell.png", ContentFile(sample_cell_paths[0].read_bytes()))
    page = new_page()
    log_in(page, doctor)
    page.goto(specimen.get_absolute_url())
    expect(page.locator("#gallery")).to_have_attribute("hx-trigger", "every 3s")
    expect(page.locator("#gallery img.heatmap")).to_have_count(0)

    result = CellResult.objects.get(pk=flagged.pk)  # as the worker stores it, later
    result.heatmap.save("overlay.png", ContentFile(sample_cell_paths[1].read_bytes()))

    expect(page.locator("#gallery img.heatmap")).to_have_count(1, timeout=10_000)
    expect(page.locator("#gallery")).not_to_have_attribute("hx-trigger", "every 3s")
    page.wait_for_load_state("networkidle")
    screenshot(page, "live-heatmap-arrived")
