"""The live microscope view in real Chromium, its camera faked by a video made at test time
from a synthetic field of view (tests/imaging/field_images.py, so it runs without
../shared) and from a CRIC field where ../shared is there: the detected cells are drawn over
the picture with a legend, capture stores the field as an upload, and axe-core finds no
serious violation on the page."""
import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from imaging.models import FieldOfView, UploadBatch
from tests.browser.conftest import chromium_path
from tests.browser.test_accessibility import assert_no_blocking_violations
from tests.imaging.field_images import cric_field_paths, synthetic_field

pytestmark = pytest.mark.django_db(transaction=True)


def camera_picture(source):
    """The picture the camera shows: the synthetic field (640 x 480), or the first CRIC field
    (1280 x 960; skipped without ../shared) of even height, as a camera's frames are
    (Chromium's fake camera turns an MJPEG of odd height into 2 x 2 pixels)."""
    if source == "synthetic":
        return synthetic_field()
    with Image.open(cric_field_paths(1)[0]) as field:
        return field.convert("RGB").resize((1280, 960))


def fake_camera_video(path, picture, frames=2):
    """An MJPEG file (JPEG frames one after another) that Chromium's fake camera loops."""
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=92)
    path.write_bytes(buffer.getvalue() * frames)
    return path


@pytest.fixture
def camera_page(browser, live_server, tmp_path, request):
    """A page of a Chromium whose camera shows a field (the synthetic one unless the test is
    parametrized with ``camera_page``), in its own browser: the camera flags are for these
    tests only."""
    source = getattr(request, "param", "synthetic")
    video = fake_camera_video(tmp_path / "field.mjpeg", camera_picture(source))
    camera = browser.browser_type.launch(
        executable_path=chromium_path(), headless=True,
        args=["--no-sandbox", "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"])
    context = camera.new_context(viewport={"width": 1280, "height": 900},
                                 base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    stop_analysing(page)
    context.close()
    camera.close()


def stop_analysing(page):
    """No frame left on its way: one answered after the test would find the database gone."""
    every_second = page.locator("#live-every-second")
    if every_second.count():
        every_second.uncheck()
        page.wait_for_function("() => !document.getElementById('live-stage').dataset.analysing")


def painted_pixels(page):
    return page.evaluate("""() => {
      const canvas = document.getElementById('live-overlay');
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) { if (pixels[i]) { painted++; } }
      return painted;
    }""")


@pytest.mark.parametrize("camera_page, size", [("synthetic", "640 × 480"),
                                               ("cric", "1280 × 960")],
                         indirect=["camera_page"], ids=["synthetic", "cric"])
def test_the_camera_picture_gets_its_cells_drawn_and_a_capture_is_stored(
        camera_page, size, log_in, screenshot, lab_staff, specimen):
    page = camera_page
    log_in(page, lab_staff)
    page.goto(f"/specimens/{specimen.pk}/live/")
    expect(page.locator("#live-status")).to_contain_text(f"Camera on: {size} px")
    stage = page.locator("#live-stage")
    expect(stage).to_have_attribute("data-cells", re.compile(r"^[1-9]\d*$"), timeout=30_000)
    expect(page.locator("#live-status")).to_contain_text(
        re.compile(r"cells? found, \d+ classified"))
    expect(page.locator("#live-legend li").first).to_contain_text("cell")
    assert painted_pixels(page) > 0
    print(f"live view, {size} field: {stage.get_attribute('data-latency-ms')} ms frame sent "
          f"to overlay drawn (the last frame drawn), server "
          f"{stage.get_attribute('data-server-ms')} ms")
    screenshot(page, f"live-microscope-{size.replace(' × ', 'x')}")

    page.get_by_role("checkbox", name="Analyse every second").uncheck()
    page.get_by_role("button", name="Capture this field").click()
    expect(page.locator("#live-capture-result")).to_contain_text("stored")
    link = page.locator("#live-capture-result a")
    expect(link).to_have_text(re.compile(r"Open field live-\d{8}-\d{6}\.jpg"))
    field = FieldOfView.objects.get()
    assert field.image.kind == "field" and field.image.uploaded_by == lab_staff
    assert UploadBatch.objects.get().content == "field"
    assert link.get_attribute("href") == f"/specimens/{specimen.pk}/fields/{field.pk}/"


def test_analyse_now_answers_with_every_second_off_and_the_page_is_accessible(
        camera_page, log_in, lab_staff, specimen):
    page = camera_page
    log_in(page, lab_staff)
    page.goto(f"/specimens/{specimen.pk}/live/")
    page.get_by_role("checkbox", name="Analyse every second").uncheck()
    page.wait_for_function("() => document.getElementById('live-video').videoWidth > 0")
    page.wait_for_load_state("networkidle")  # a frame sent before the box was unticked
    stage = page.locator("#live-stage")
    stage.evaluate("element => { delete element.dataset.cells; }")
    page.get_by_role("button", name="Analyse now").click()
    expect(stage).to_have_attribute("data-cells", re.compile(r"^[1-9]\d*$"), timeout=30_000)
    assert_no_blocking_violations(page, "live microscope")
