"""A screener zooms into a field: every detected cell is ringed in its class's colour over
the Deep Zoom tiles, the flagged-only toggle hides the others, and a gallery cell's "where
it was found" lands on the viewer centred on that cell; within the Content-Security-Policy
and without a serious accessibility violation."""
import hashlib
import io
import re

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from diagnostics.models import CellResult
from imaging.models import FieldOfView, ImageAsset
from tests.browser.test_accessibility import assert_no_blocking_violations
from tests.imaging.field_images import SYNTHETIC_CENTRES, synthetic_field

pytestmark = pytest.mark.django_db(transaction=True)

FLAGGED = {"Dyskeratotic": 0.7, "Superficial-Intermediate": 0.3}
NORMAL = {"Superficial-Intermediate": 0.9, "Dyskeratotic": 0.1}


def png_bytes(picture):
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def stored_image(specimen, picture, name, **fields):
    data = png_bytes(picture)
    image = ImageAsset(specimen=specimen, original_name=name, image_format="PNG",
                       sha256=hashlib.sha256(data).hexdigest(), width=picture.width,
                       height=picture.height, size_bytes=len(data), **fields)
    image.file.save(name, ContentFile(data), save=False)
    image.save()
    return image


@pytest.fixture
def field(specimen):
    """The synthetic field of six cells, searched: a crop for each, every other one flagged
    (Dyskeratotic, referred), the rest normal."""
    picture = synthetic_field()
    image = stored_image(specimen, picture, "field.png", kind="field")
    field = FieldOfView.objects.create(image=image, status="done", cells_found=6, cells_cut=6,
                                       detector_version="test")
    for index, (x, y) in enumerate(SYNTHETIC_CENTRES):
        flagged = index % 2 == 0
        crop = stored_image(specimen, picture.crop((x - 40, y - 40, x + 40, y + 40)),
                            f"field.png@x{x}y{y}.png", kind="cell", source_field=field,
                            field_x=float(x), field_y=float(y), nucleus_radius=12.0,
                            detection_score=0.9)
        CellResult.objects.create(
            image=crop, model_version="test-model", status="done",
            probabilities=FLAGGED if flagged else NORMAL, refer_to_cytologist=flagged,
            predicted_class="Dyskeratotic" if flagged else "Superficial-Intermediate")
    return field


@pytest.fixture
def doctor_page(new_page, log_in, doctor):
    page = new_page()
    page.refused = []
    page.on("console", lambda message: page.refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    log_in(page, doctor)
    return page


def wait_for_cells(page):
    expect(page.locator("#slide-viewer[data-ready='true']")).to_be_attached()
    page.wait_for_load_state("networkidle")


def centre(box):
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_every_cell_is_marked_and_the_toggle_keeps_only_the_flagged(
        doctor_page, screenshot, specimen, field):
    page = doctor_page
    page.goto(f"/specimens/{specimen.pk}/fields/{field.pk}/viewer/")
    wait_for_cells(page)
    marks = page.locator(".cell-mark")
    expect(marks).to_have_count(6)
    flagged, unflagged = page.locator(".cell-mark.flagged"), page.locator(".cell-mark:not(.flagged)")
    expect(flagged).to_have_count(3)
    for index in range(6):
        expect(marks.nth(index)).to_be_visible()
    expect(page.locator("canvas").first).to_be_visible()  # OpenSeadragon drew the tiles
    expect(page.get_by_role("status")).to_have_text("6 cells marked.")
    colours = {ring.get_attribute("stroke") for ring in page.locator(".cell-mark circle").all()}
    assert len(colours) == 2  # one per class
    screenshot(page, "slide-viewer-01-all-cells")

    page.get_by_label("Show only flagged cells").check()
    for index in range(3):
        expect(unflagged.nth(index)).to_be_hidden()
        expect(flagged.nth(index)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("3 flagged cells marked.")
    screenshot(page, "slide-viewer-02-flagged-only")
    page.get_by_label("Show only flagged cells").uncheck()
    expect(unflagged.first).to_be_visible()

    # A flagged ring opens its cell's page.
    first = field.crops.order_by("pk").first()
    page.locator(f"#cell-{first.pk}").click()
    expect(page).to_have_url(re.compile(
        rf"/specimens/{specimen.pk}/cells/{first.results.get().pk}/$"))
    assert not page.refused, page.refused


def test_a_gallery_link_lands_centred_on_its_cell(doctor_page, screenshot, specimen, field):
    page = doctor_page
    page.goto(specimen.get_absolute_url())
    page.get_by_role("link", name="Where cell 1 was found").click()
    expect(page).to_have_url(re.compile(r"/viewer/\?x=\d+&y=\d+&cell=\d+$"))
    wait_for_cells(page)
    crop_id = re.search(r"cell=(\d+)", page.url).group(1)
    chosen = page.locator(f"#cell-{crop_id}")
    expect(chosen).to_have_class(re.compile(r"\bchosen\b"))
    mark_x, mark_y = centre(chosen.bounding_box())
    view_x, view_y = centre(page.locator("#slide-viewer").bounding_box())
    assert mark_x == pytest.approx(view_x, abs=3) and mark_y == pytest.approx(view_y, abs=3)
    ring = chosen.locator("circle").last.bounding_box()
    assert ring["width"] > 2 * 12 * 1.5  # zoomed in: the 12 px nucleus drawn larger
    screenshot(page, "slide-viewer-03-from-the-gallery")
    assert_no_blocking_violations(page, "slide viewer")
    assert not page.refused, page.refused


def test_a_slides_cells_are_fetched_for_the_region_in_view(
        doctor_page, screenshot, specimen, tmp_path):
    from tests.imaging.test_slide_viewer import add_slide

    slide, result, (x, y) = add_slide(specimen, tmp_path, cells=5000)
    page = doctor_page
    page.goto(f"/specimens/{specimen.pk}/fields/{slide.pk}/viewer/")
    wait_for_cells(page)
    expect(page.get_by_role("status")).to_have_text(
        "Showing the 2000 most suspicious of 5000 cells in view: zoom in to see them all.")
    expect(page.locator(".cell-mark")).to_have_count(2000)
    screenshot(page, "slide-viewer-04-slide-whole")

    crop = result.image
    page.goto(f"/specimens/{specimen.pk}/fields/{slide.pk}/viewer/"
              f"?x={crop.field_x:.0f}&y={crop.field_y:.0f}&cell={crop.pk}")
    wait_for_cells(page)
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^\d+ cells? in view marked\.$"))
    assert page.locator(".cell-mark").count() < 500  # of 5000: the few in view
    expect(page.locator(f"#cell-{crop.pk}")).to_have_attribute(
        "href", f"/specimens/{specimen.pk}/cells/{result.pk}/")
    page.get_by_label("Show only flagged cells").check()
    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"^\d+ flagged cells? in view marked\.$"))
    expect(page.locator(".cell-mark:not(.flagged)")).to_have_count(0)
    screenshot(page, "slide-viewer-05-slide-zoomed-flagged")
    assert not page.refused, page.refused
