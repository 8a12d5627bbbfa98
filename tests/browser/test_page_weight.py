"""What a screener's browser downloads for a specimen of 200 classified cells, measured by the
browser itself (Resource Timing): a light first visit, almost nothing on the next one."""
import hashlib
import io
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from diagnostics.models import CellResult
from diagnostics.services import needs_heatmap
from imaging.models import ImageAsset
from imaging.thumbnails import thumbnail_bytes

CELLS = 200
FIRST_VISIT_BUDGET = 1_000_000
REVISIT_BUDGET = 150_000
INTERACTIVE_BUDGET_MS = 1500
pytestmark = pytest.mark.django_db(transaction=True)

TRANSFERRED = """() => {
  const navigation = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  return {
    navigation: navigation.transferSize,
    resources: resources.reduce((sum, entry) => sum + entry.transferSize, 0),
    count: resources.length,
    interactive_ms: navigation.domInteractive,
    load_ms: navigation.loadEventEnd,
  };
}"""


def png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def probabilities_of(number):
    """Mostly normal cells, one in ten abnormal, as a screening specimen looks."""
    if number % 10 == 0:
        koilocytotic = 0.55 + (number % 40) / 100
        return {"Dyskeratotic": 0.02, "Koilocytotic": koilocytotic, "Metaplastic": 0.03,
                "Parabasal": 0.05, "Superficial-Intermediate": round(0.9 - koilocytotic, 4)}
    superficial = 0.5 + (number * 7 % 45) / 100
    return {"Dyskeratotic": 0.01, "Koilocytotic": 0.02, "Metaplastic": 0.07,
            "Parabasal": round(0.9 - superficial, 4), "Superficial-Intermediate": superficial}


def stored(name, data):
    return default_storage.save(name, ContentFile(data))


def classified_cells(specimen, sample_cell_paths):
    """CELLS real sample cells (each with its own bytes), stored with their thumbnails as an
    upload would, and their results DONE, with a stored Grad-CAM overlay where the worker
    would draw one: the worker itself is not run."""
    images, overlays = [], {}
    for number in range(CELLS):
        with Image.open(sample_cell_paths[number % len(sample_cell_paths)]) as cell:
            cell = cell.convert("RGB")
        cell.putpixel((0, 0), (number % 256, number // 256, 7))  # different bytes, same cell
        data = png_bytes(cell)
        sha = hashlib.sha256(data).hexdigest()
        images.append(ImageAsset(
            specimen=specimen, original_name=f"cell{number:03}.png", sha256=sha,
            file=stored(f"specimens/{specimen.pk}/{sha}.png", data),
            thumbnail=stored(f"specimens/{specimen.pk}/thumbnails/{sha}.webp",
                             thumbnail_bytes(data)),
            image_format="PNG", width=cell.width, height=cell.height, size_bytes=len(data)))
        overlays[number] = Image.blend(cell, Image.new("RGB", cell.size, (230, 40, 20)), 0.35)
    images = ImageAsset.objects.bulk_create(images)
    results = []
    for number, image in enumerate(images):
        probabilities = probabilities_of(number)
        result = CellResult(image=image, model_version="test-model", status="done",
                            probabilities=probabilities, finished_at=timezone.now(),
                            predicted_class=max(probabilities, key=probabilities.get),
                            refer_to_cytologist=max(probabilities.values()) < 0.6)
        if needs_heatmap(result):
            result.heatmap = stored(f"heatmaps/{specimen.pk}/{number}.png",
                                    png_bytes(overlays[number]))
        results.append(result)
    CellResult.objects.bulk_create(results)
    return results


def visit(page, url):
    page.goto(url)
    page.locator("#gallery").scroll_into_view_if_needed()  # its lazy images load
    page.mouse.wheel(0, 20_000)
    page.wait_for_load_state("networkidle")
    return page.evaluate(TRANSFERRED)


def test_a_specimen_of_200_cells_is_light_and_cached_on_the_next_visit(
        new_page, log_in, screenshot, doctor, specimen, sample_cell_paths):
    results = classified_cells(specimen, sample_cell_paths)
    page = new_page()
    log_in(page, doctor)

    first = visit(page, specimen.get_absolute_url())
    expect(page.locator(".cell-gallery li")).to_have_count(48)
    screenshot(page, "page-weight-01-first-visit")
    again = visit(page, specimen.get_absolute_url())
    screenshot(page, "page-weight-02-revisit")

    first_bytes = first["navigation"] + first["resources"]
    again_bytes = again["navigation"] + again["resources"]
    overlays = sum(bool(result.heatmap) for result in results)
    print(f"\n{CELLS} cells ({overlays} with Grad-CAM overlays), doctor, Chromium:"
          f"\n  first visit: {first_bytes / 1000:.1f} KB ({first['count']} resources; page "
          f"{first['navigation'] / 1000:.1f} KB), DOM interactive {first['interactive_ms']:.0f} ms,"
          f" load {first['load_ms']:.0f} ms"
          f"\n  revisit:     {again_bytes / 1000:.1f} KB ({again['count']} resources; page "
          f"{again['navigation'] / 1000:.1f} KB), DOM interactive {again['interactive_ms']:.0f} ms,"
          f" load {again['load_ms']:.0f} ms")
    assert first_bytes < FIRST_VISIT_BUDGET
    assert again_bytes < REVISIT_BUDGET
    assert first["interactive_ms"] < INTERACTIVE_BUDGET_MS


def test_gallery_cells_are_reached_and_opened_by_keyboard(
        new_page, log_in, screenshot, doctor, specimen, sample_cell_paths):
    classified_cells(specimen, sample_cell_paths)
    page = new_page()
    log_in(page, doctor)
    page.goto(specimen.get_absolute_url())
    first_cell = page.locator(".cell-gallery .cell-link").first
    expect(first_cell).to_have_attribute("aria-label", re.compile(r"^Cell 1: Koilocytotic 0\.\d\d"))
    first_cell.focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name=re.compile(r"^Cell 2: "))).to_be_focused()
    page.wait_for_load_state("networkidle")  # the previews in view have arrived
    screenshot(page, "page-weight-03-gallery-focus")
    page.get_by_role("link", name="Next cells").click()
    expect(page).to_have_url(re.compile(r"\?cells=2#gallery$"))
    expect(page.locator(".cell-gallery li")).to_have_count(48)
    expect(page.locator(".cell-gallery .cell-link").first).to_have_attribute(
        "aria-label", re.compile(r"^Cell 49: "))
    page.wait_for_load_state("networkidle")  # no image still loading once the test's data go
