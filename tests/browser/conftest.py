"""Real headless Chromium (the system's, never downloaded) driving a live CelInsight.

Playwright's sync API keeps an event loop running in the test thread, so Django's guard
against database calls from async code must be lifted for the test code itself.
"""
import fcntl
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import SCREENSHOTS_DIR

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path():
    configured = os.environ.get("CELINSIGHT_CHROMIUM")
    candidates = [configured] if configured else [*CHROMIUM_CANDIDATES, shutil.which("chromium")]
    return next((path for path in candidates if path and Path(path).is_file()), None)


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium not installed (apt-get install chromium); bin/test installs it "
                    "when it can")
    sync_api = pytest.importorskip("playwright.sync_api")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                                  args=["--no-sandbox"])
            yield chromium
            chromium.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]  # never leak into other tests' processes


@pytest.fixture
def new_page(browser, live_server):
    contexts = []

    def open_page():
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      base_url=live_server.url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshots_dir():
    """screenshots/ (git-ignored, kept by CI as artefacts), emptied once per test run by
    tests/conftest.py (before the test processes start: they share the folder)."""
    SCREENSHOTS_DIR.mkdir(exist_ok=True)
    return SCREENSHOTS_DIR


@pytest.fixture
def screenshot(screenshots_dir):

    def save(page, name):
        page.screenshot(path=str(SCREENSHOTS_DIR / f"{name}.png"), full_page=True)
    return save


@pytest.fixture
def log_in():
    """Log a user in through the login form (the test users share one password)."""
    from django.contrib.auth.hashers import check_password

    def submit_login_form(page, user, password="a-long-test-password-1"):
        assert check_password(password, user.password)
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
    return submit_login_form


@pytest.fixture
def record_timing(screenshots_dir):
    def record(name, seconds):
        SCREENSHOTS_DIR.mkdir(exist_ok=True)
        with open(SCREENSHOTS_DIR / "timings.json", "a+") as file:
            fcntl.flock(file, fcntl.LOCK_EX)  # another test process may be recording too
            file.seek(0)
            timings = json.loads(file.read() or "{}")
            timings[name] = round(seconds, 1)
            file.seek(0)
            file.truncate()
            file.write(json.dumps(timings, indent=2) + "\n")
        print(f"{name}: {seconds:.1f} s")
    return record
