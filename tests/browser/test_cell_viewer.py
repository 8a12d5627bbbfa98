"""A screener looks at a cell properly: opened large from the gallery, zoomed by whole
factors, the Grad-CAM overlay laid over it in the same box, the next cell a key away; all
within the Content-Security-Policy and without a serious accessibility violation."""
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image
from playwright.sync_api import expect

from diagnostics.engine.preprocessing import resize_and_pad
from diagnostics.presentation import latest_classified_results, ranked_gallery
from tests.browser.test_accessibility import (CLASS_MIXES, assert_no_blocking_violations,
                                              open_page)
from tests.browser.test_page_weight import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cells(specimen, make_result, sample_cell_paths):
    """The specimen's five cells in the gallery's ranked order; the first (flagged) with an
    overlay drawn as the worker draws it: over the model's square, padded input."""
    for (probabilities, refer), path in zip(CLASS_MIXES, sample_cell_paths[::6]):
        result = make_result(specimen, probabilities, refer=refer)
        with Image.open(path) as cell:
            cell = cell.convert("RGB")
        image = result.image
        image.width, image.height = cell.size
        image.save(update_fields=["width", "height"])
        default_storage.save(image.file.name, ContentFile(path.read_bytes()))
        if refer and not specimen.images.exclude(results__heatmap="").exists():
            square = resize_and_pad(cell, 224, pad_colour=(124, 116, 104))
            overlay = Image.blend(square, Image.new("RGB", square.size, (230, 40, 20)), 0.35)
            result.heatmap.save(f"{result.pk}.png", ContentFile(png_bytes(overlay)))
    images = specimen.images.prefetch_related("results")
    return ranked_gallery(latest_classified_results(images))


def rendered_width(locator):
    return locator.bounding_box()["width"]


def test_a_cell_opens_large_zooms_shows_its_overlay_and_steps_by_keyboard(
        new_page, log_in, screenshot, doctor, specimen, cells):
    first, second = cells[0], cells[1]
    assert first.heatmap and first.refer_to_cytologist
    page = new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    log_in(page, doctor)
    open_page(page, specimen.get_absolute_url())
    page.get_by_role("link", name=re.compile(r"^Cell 1: ")).click()
    expect(page).to_have_url(re.compile(rf"/specimens/{specimen.pk}/cells/{first.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Cell 1 of {len(cells)}: {first.predicted_class}")
    original = page.locator(".cell-original")
    page.wait_for_load_state("networkidle")
    one = rendered_width(original)
    assert one == pytest.approx(first.image.width, abs=1)
    screenshot(page, "cell-viewer-01-opened")

    page.get_by_role("button", name="2×").click()
    expect(page.get_by_role("button", name="2×")).to_have_attribute("aria-pressed", "true")
    assert rendered_width(original) == pytest.approx(2 * one, abs=1)
    page.get_by_role("button", name="4×").click()
    assert rendered_width(original) == pytest.approx(4 * one, abs=1)
    assert original.evaluate("img => getComputedStyle(img).imageRendering") == "pixelated"
    screenshot(page, "cell-viewer-02-zoom-4x")
    page.get_by_role("button", name="1×").click()
    assert rendered_width(original) == pytest.approx(one, abs=1)

    overlay = page.locator(".cell-overlay")
    toggle = page.get_by_role("button", name="Grad-CAM overlay")
    expect(overlay).to_be_hidden()
    toggle.click()
    expect(overlay).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert overlay.evaluate("img => img.complete && img.naturalWidth") == 224  # padded square
    box, over = original.bounding_box(), overlay.bounding_box()  # the same box: no letterbox
    assert [round(box[key]) for key in box] == [round(over[key]) for key in over]
    expect(page.get_by_text("red: regions that most raised the predicted class's score",
                            exact=False)).to_be_visible()
    screenshot(page, "cell-viewer-03-overlay")
    assert_no_blocking_violations(page, "cell page")
    toggle.click()
    expect(overlay).to_be_hidden()

    page.locator("h1").click()  # focus out of the buttons, as a reader would be
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(rf"/cells/{second.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cell 2 of")
    expect(page.get_by_text("Keys: ← or k previous, → or j next")).to_be_visible()
    page.keyboard.press("k")
    expect(page).to_have_url(re.compile(rf"/cells/{first.pk}/$"))
    screenshot(page, "cell-viewer-04-back-by-keyboard")
    assert not refused, refused
