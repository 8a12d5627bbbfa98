"""Latency of the live microscope view on CRIC fields (1280 x 960), run by hand.

Two measurements, each on the first ``--fields`` CRIC fields, in a fresh SQLite database in
a temporary folder:

1. Server: each field's JPEG posted to the frame endpoint through Django's test client (the
   request parsed, the frame checked and decoded, detected, the best LIVE_MAX_CELLS
   classified, the JSON written): the request's milliseconds and the analysis's own
   (``server_ms`` in the answer).
2. Browser: headless Chromium whose fake camera shows the field (an MJPEG of it), the live
   page open with "Analyse every second": for ``--frames`` frames each, the page's time from
   grabbing the frame to the overlay drawn (``data-latency-ms``) and the server's part.

The first frame of a process loads the detector and the classifier; it is left out (one
warm-up frame per field in the browser: the page's first request also opens the session).

    .venv/bin/python bench/live_latency.py --fields 5 --frames 5
"""
import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRIC = ROOT.parent / "shared" / "datasets" / "cric" / "images"
CHROMIUM = "/usr/bin/chromium"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=5)
    parser.add_argument("--frames", type=int, default=5, help="browser frames per field")
    parser.add_argument("--cric", type=Path, default=CRIC)
    parser.add_argument("--no-browser", action="store_true")
    return parser.parse_args()


def set_up_django(var_dir):
    os.environ.update(CELINSIGHT_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="celinsight.settings",
                      DJANGO_ALLOW_ASYNC_UNSAFE="true")  # Playwright's loop in this thread
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver", "localhost"]
    call_command("migrate", verbosity=0)


def lab_staff_and_specimen():
    from django.contrib.auth.models import Group, User

    from accounts.roles import LAB_STAFF
    from imaging.models import Specimen
    from patients.models import Patient

    user = User.objects.create_user("bench-live")
    user.groups.add(Group.objects.get(name=LAB_STAFF))
    patient = Patient.objects.create(mrn="LIVE-1", full_name="Bench", date_of_birth="1980-01-01",
                                     consent_given=True)
    return user, Specimen.objects.create(patient=patient, accession_number="LIVE-1",
                                         collected_on="2026-01-01")


def summary(values):
    values = sorted(values)
    if not values:
        return "no frame measured"
    return (f"median {statistics.median(values):.0f} ms, "
            f"max {values[-1]:.0f} ms (n={len(values)})")


def measure_server(client, specimen, paths):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    url = reverse("imaging:live_frame", args=[specimen.pk])

    def post(path):
        started = time.perf_counter()
        response = client.post(url, {"frame": SimpleUploadedFile(path.name, path.read_bytes())})
        answer = response.json()
        assert response.status_code == 200, answer
        return (time.perf_counter() - started) * 1000, answer

    post(paths[0])  # loads the detector and the classifier
    requests, analyses = [], []
    for path in paths:
        request_ms, answer = post(path)
        requests.append(request_ms)
        analyses.append(answer["server_ms"])
        print(f"  {path.name}: {answer['width']}x{answer['height']}, {answer['cells_found']} "
              f"found, {answer['cells_classified']} classified: request {request_ms:.0f} ms, "
              f"analysis {answer['server_ms']} ms")
    print(f"server, request: {summary(requests)}")
    print(f"server, analysis (server_ms): {summary(analyses)}")


def fake_camera_video(path, folder):
    """The field as an MJPEG (JPEG frames one after another), as the camera would send it."""
    from PIL import Image

    buffer = io.BytesIO()
    with Image.open(path) as field:
        # Some CRIC fields are 1280 x 959; Chromium's fake camera turns a frame of odd
        # height into 2 x 2 pixels (a real camera's frames are even): stretched by a row.
        field = field.convert("RGB")
        even = Image.new("RGB", (field.width + field.width % 2, field.height + field.height % 2))
        even.paste(field.resize(even.size), (0, 0))
        even.save(buffer, format="JPEG", quality=92)
    video = Path(folder) / f"{path.stem}.mjpeg"
    video.write_bytes(buffer.getvalue() * 2)
    return video


def frames_in_browser(playwright, server_url, cookie, page_url, video, frames):
    """(latency ms, server ms) of ``frames`` frames after the first, for one field."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"])
    try:
        context = browser.new_context(base_url=server_url, viewport={"width": 1400, "height": 1100})
        context.add_cookies([{**cookie, "url": server_url}])
        page = context.new_page()
        page.goto(page_url)
        stage, measured = page.locator("#live-stage"), []
        for frame in range(1, frames + 2):
            try:
                page.wait_for_function(
                    "count => Number(document.getElementById('live-stage').dataset.frames || 0)"
                    " >= count", arg=frame, timeout=30_000)
            except PlaywrightTimeout:
                status = page.locator("#live-status").text_content()
                print(f"  {video.stem}: no frame drawn: {status}")
                return measured
            if frame > 1:
                measured.append((int(stage.get_attribute("data-latency-ms")),
                                 int(stage.get_attribute("data-server-ms"))))
        print(f"  {video.stem}: {page.locator('#live-status').text_content()}")
        return measured
    finally:
        browser.close()


def measure_browser(client, user, specimen, paths, frames, folder):
    from django.conf import settings
    from playwright.sync_api import sync_playwright
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("localhost")
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session}
    page_url = f"/specimens/{specimen.pk}/live/"
    latencies, analyses = [], []
    try:
        with sync_playwright() as playwright:
            for path in paths:
                measured = frames_in_browser(playwright, server.url, cookie, page_url,
                                             fake_camera_video(path, folder), frames)
                latencies += [latency for latency, _ in measured]
                analyses += [analysis for _, analysis in measured]
    finally:
        server.stop()
    print(f"browser, frame grabbed to overlay drawn: {summary(latencies)}")
    print(f"browser, of which the analysis (server_ms): {summary(analyses)}")


def main():
    args = parse_args()
    paths = sorted(args.cric.glob("*.jpg"))[:args.fields]
    if not paths:
        sys.exit(f"No CRIC fields in {args.cric}")
    with tempfile.TemporaryDirectory() as folder:
        set_up_django(Path(folder))
        from django.test import Client

        from imaging import live

        user, specimen = lab_staff_and_specimen()
        client = Client()
        client.force_login(user)
        print(f"{len(paths)} CRIC fields, at most {live.LIVE_MAX_CELLS} cells classified a "
              f"frame, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        measure_server(client, specimen, paths)
        if not args.no_browser:
            measure_browser(client, user, specimen, paths, args.frames, folder)


if __name__ == "__main__":
    main()
