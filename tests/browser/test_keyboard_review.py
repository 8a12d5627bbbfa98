"""A screener reviews ten flagged cells with the keyboard alone, in place: no page reload,
each review recorded, the sign-off form ready after the last; and accepts every flagged
cell in one step after a confirmation that says how many."""
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from diagnostics.models import CellReview
from tests.browser.test_accessibility import (CLASS_MIXES, assert_no_blocking_violations,
                                              open_page)

pytestmark = pytest.mark.django_db(transaction=True)
FLAGGED = 10


@pytest.fixture
def ten_flagged(doctor, specimen, make_result, sample_cell_paths):
    doctor.first_name, doctor.last_name = "Ada", "Lovelace"
    doctor.save()
    cells = []
    for index in range(FLAGGED + 2):
        probabilities, _ = CLASS_MIXES[index % len(CLASS_MIXES)]
        result = make_result(specimen, probabilities, refer=index < FLAGGED)
        default_storage.save(result.image.file.name,
                             ContentFile(sample_cell_paths[index].read_bytes()))
        cells.append(result)
    return cells[:FLAGGED]


def watch(page):
    """Collect what the Content-Security-Policy refused; mark the window, so that a reload
    (which would forget the mark) shows."""
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.evaluate("() => { window.notReloaded = true; }")
    return refused


def test_ten_flagged_cells_reviewed_by_keyboard_alone(new_page, log_in, screenshot,
                                                      record_timing, doctor, specimen,
                                                      ten_flagged):
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 700})
    log_in(page, doctor)
    open_page(page, f"/specimens/{specimen.pk}/review/")
    refused = watch(page)
    expect(page.get_by_role("button", name="Sign off")).to_be_disabled()
    keys = page.locator("#review-keys li").first
    expect(page.get_by_text("Keyboard shortcuts")).to_be_visible()
    expect(keys).to_be_visible()  # listed on the page; ? hides and shows the list
    page.keyboard.press("?")
    expect(keys).to_be_hidden()
    page.keyboard.press("?")
    expect(keys).to_be_visible()
    classes = page.locator("[data-class-key]").evaluate_all(
        "items => items.map(item => item.dataset.class)")
    seconds = []
    expected = {}
    for index, cell in enumerate(ten_flagged):
        page.keyboard.press("j")
        row = page.locator(f"#cell-{cell.pk}")
        expect(row).to_be_focused()
        expect(row).to_have_attribute("aria-current", "true")
        if index == 0:
            page.keyboard.press("n")
            expect(row.locator("textarea")).to_be_focused()
            page.keyboard.type("perinuclear halo; jot the key 'a' without accepting")
            page.keyboard.press("Escape")
            expect(row).to_be_focused()
        scrolled = page.evaluate("() => window.scrollY")
        started = time.monotonic()
        if index % 3 == 2:  # an override: the key of the first class not predicted
            key = next(number for number, name in enumerate(classes, 1)
                       if name != cell.predicted_class)
            page.keyboard.press(str(key))
            expected[cell.pk] = classes[key - 1]
            expect(row.locator(".verdict")).to_contain_text(f"Overridden to {classes[key - 1]}")
            expect(row.locator(".verdict")).to_contain_text(f"(model: {cell.predicted_class})")
        else:
            page.keyboard.press("a")
            expected[cell.pk] = cell.predicted_class
            expect(row.locator(".verdict")).to_contain_text("Accepted")
        seconds.append(time.monotonic() - started)
        expect(row.locator(".verdict")).to_contain_text("Ada Lovelace")
        expect(row).to_be_focused()
        # No jump to the top: the page stays where it was (give or take the row's new
        # height: the browser's scroll anchoring), with the reviewed cell in view.
        assert abs(page.evaluate("() => window.scrollY") - scrolled) < 40
        expect(row).to_be_in_viewport()
    expect(page.locator("#review-progress")).to_contain_text("Every flagged cell is reviewed.")
    expect(page.get_by_role("button", name="Sign off")).to_be_enabled()  # fetched again
    assert page.evaluate("() => window.notReloaded") is True
    # Only now: Playwright's screenshot leaves style="" on hidden inputs, which htmx would
    # copy when it settles the next swapped row (a refusal the page itself never causes).
    screenshot(page, "keyboard-review-01-ten-reviewed")
    reviews = {review.result_id: review for review in CellReview.objects.all()}
    assert {pk: review.reviewed_class for pk, review in reviews.items()} == expected
    assert reviews[ten_flagged[0].pk].note.startswith("perinuclear halo")
    assert {review.reviewer for review in reviews.values()} == {doctor}
    reload_started = time.monotonic()  # what each review cost before: the page again
    open_page(page, f"/specimens/{specimen.pk}/review/")
    record_timing("review_page_reload_seconds", time.monotonic() - reload_started)
    record_timing("keyboard_review_seconds_per_cell", sum(seconds) / len(seconds))
    record_timing("keyboard_review_seconds_slowest", max(seconds))
    assert not refused, "\n".join(refused)
    assert_no_blocking_violations(page, "review page, reviewed")

    overridden = next(cell for cell in ten_flagged if expected[cell.pk] != cell.predicted_class)
    open_page(page, specimen.get_absolute_url())  # the gallery shows the reviewed classes
    card = page.locator(f'.cell-card[data-result="{overridden.pk}"]')
    expect(card).to_contain_text(f"{expected[overridden.pk]} (model: {overridden.predicted_class}")
    expect(card).to_contain_text("reviewed by Ada Lovelace")
    screenshot(page, "keyboard-review-02-gallery-reviewed")
    assert_no_blocking_violations(page, "specimen page, reviewed")


def test_accept_all_flagged_after_a_confirmation_with_the_count(new_page, log_in, screenshot,
                                                               doctor, specimen, ten_flagged):
    page = new_page()
    log_in(page, doctor)
    open_page(page, f"/specimens/{specimen.pk}/review/")
    refused = watch(page)
    page.locator(f"#cell-{ten_flagged[0].pk}").get_by_role("button", name="Accept").click()
    expect(page.locator("#review-progress")).to_contain_text("9 flagged cells still to review.")
    questions = []

    def answer(dialog):
        questions.append(dialog.message)
        if len(questions) == 1:
            dialog.dismiss()  # the first time: think again
        else:
            dialog.accept()
    page.on("dialog", answer)
    button = page.get_by_role("button", name="Accept all 9 flagged as predicted")
    button.click()
    assert questions == ["Accept 9 flagged cells as predicted?"]
    assert CellReview.objects.count() == 1
    button.click()
    expect(page.locator("#cells")).to_contain_text("9 flagged cells accepted as predicted.")
    expect(page.locator("#review-progress")).to_contain_text("Every flagged cell is reviewed.")
    expect(page.get_by_role("button", name="Sign off")).to_be_enabled()
    assert page.evaluate("() => window.notReloaded") is True
    screenshot(page, "keyboard-review-03-accepted-all-flagged")
    assert CellReview.objects.filter(accepted=True, reviewer=doctor).count() == FLAGGED
    assert not refused, "\n".join(refused)


def test_a_review_after_the_session_ended_goes_to_the_login_page(new_page, log_in, doctor,
                                                                 specimen, ten_flagged):
    page = new_page()
    log_in(page, doctor)
    open_page(page, f"/specimens/{specimen.pk}/review/")
    page.context.clear_cookies(name="sessionid")  # the session is over (idle timeout)
    page.keyboard.press("j")
    page.keyboard.press("a")
    page.wait_for_url("**/accounts/login/**")  # not the login form drawn into the table
    expect(page.get_by_label("Username")).to_be_visible()
    assert not CellReview.objects.exists()
