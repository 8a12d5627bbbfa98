"""The screener's bench for everyone: axe-core finds no serious or critical violation on the
pages a doctor works in, and at 800 and 390 px wide nothing spills off the side of the page.

axe-core is the vendored copy (static/vendor/, MPL-2.0), loaded from this site, so the
pages' Content-Security-Policy (scripts only from self) stays in force while it runs.
"""
from datetime import date

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from diagnostics.models import SpecimenSignOff
from diagnostics.triage import update_triage_score
from imaging.models import Specimen

pytestmark = pytest.mark.django_db(transaction=True)

AXE = "/static/vendor/axe-core-4.14.1.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}
CLASS_MIXES = [  # SIPaKMeD's five classes, long names included, some cells flagged
    ({"Dyskeratotic": 0.62, "Koilocytotic": 0.2, "Metaplastic": 0.08, "Parabasal": 0.06,
      "Superficial-Intermediate": 0.04}, True),
    ({"Superficial-Intermediate": 0.91, "Parabasal": 0.04, "Metaplastic": 0.03,
      "Koilocytotic": 0.01, "Dyskeratotic": 0.01}, False),
    ({"Koilocytotic": 0.48, "Dyskeratotic": 0.3, "Metaplastic": 0.12, "Parabasal": 0.06,
      "Superficial-Intermediate": 0.04}, True),
    ({"Metaplastic": 0.83, "Parabasal": 0.1, "Superficial-Intermediate": 0.04,
      "Koilocytotic": 0.02, "Dyskeratotic": 0.01}, False),
    ({"Parabasal": 0.88, "Metaplastic": 0.06, "Superficial-Intermediate": 0.03,
      "Koilocytotic": 0.02, "Dyskeratotic": 0.01}, False),
]


@pytest.fixture
def bench(doctor, specimen, lab_staff, make_result, sample_cell_paths):
    """An open classified specimen (worklist, gallery, review form) and a signed-off one
    of the same patient (history, report)."""
    doctor.first_name, doctor.last_name = "Ada", "Lovelace"
    doctor.save()
    signed = Specimen.objects.create(patient=specimen.patient, accession_number="ACC-2",
                                     collected_on=date(2026, 10, 1), created_by=lab_staff)
    for target in (specimen, signed):
        for (probabilities, refer), path in zip(CLASS_MIXES, sample_cell_paths[::6]):
            result = make_result(target, probabilities, refer=refer)
            default_storage.save(result.image.file.name, ContentFile(path.read_bytes()))
            if target == specimen and refer:
                flagged = result
        update_triage_score(target)
    SpecimenSignOff.objects.create(specimen=signed, signed_by=doctor, version=1,
                                   interpretation=SpecimenSignOff.Interpretation.NILM,
                                   comment="Adequate sample; no abnormal cells confirmed.")
    return {
        "worklist": "/worklist/",
        "specimen": specimen.get_absolute_url(),
        "review": f"/specimens/{specimen.pk}/review/",
        "patient history": specimen.patient.get_absolute_url(),
        "report": f"/specimens/{signed.pk}/report/",
        "cell": f"/specimens/{specimen.pk}/cells/{flagged.pk}/",
    }


@pytest.fixture
def doctor_page(new_page, log_in, doctor, bench):
    page = new_page()
    log_in(page, doctor)
    return page


def open_page(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if page.locator("#class-chart").count():
        expect(page.locator("#class-chart rect").first).to_be_attached()  # the server drew it


def blocking_violations(page):
    """axe-core's serious and critical violations on the page, as (rule, impact, help,
    [where]) tuples."""
    page.add_script_tag(url=AXE)
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [(violation["id"], violation["impact"], violation["help"],
             [" ".join(node["target"]) for node in violation["nodes"]][:5])
            for violation in results["violations"] if violation["impact"] in BLOCKING_IMPACTS]


def assert_no_blocking_violations(page, name):
    violations = blocking_violations(page)
    for rule, impact, help_text, targets in violations:
        print(f"{name}: {rule} ({impact}): {help_text} at {targets}")
    assert not violations, f"{name}: " + ", ".join(rule for rule, *_ in violations)


def test_the_login_page_has_no_serious_accessibility_violations(new_page, screenshot):
    page = new_page()
    open_page(page, "/accounts/login/")
    screenshot(page, "a11y-login")
    assert_no_blocking_violations(page, "login")


@pytest.mark.parametrize("name", ["worklist", "specimen", "review", "patient history",
                                  "report", "cell"])
def test_the_bench_pages_have_no_serious_accessibility_violations(doctor_page, bench, name):
    open_page(doctor_page, bench[name])
    assert_no_blocking_violations(doctor_page, name)


def test_the_skip_link_is_the_first_stop_and_focus_is_visible(doctor_page, bench):
    open_page(doctor_page, bench["worklist"])
    doctor_page.keyboard.press("Tab")
    skip = doctor_page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    outline = skip.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline not in ("", "none")
    doctor_page.keyboard.press("Enter")
    assert doctor_page.evaluate("() => document.activeElement.id") == "main"


def test_every_form_control_on_the_review_page_has_a_label_and_its_own_id(doctor_page, bench):
    open_page(doctor_page, bench["review"])
    ids = doctor_page.eval_on_selector_all("[id]", "elements => elements.map(e => e.id)")
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    unlabelled = doctor_page.eval_on_selector_all(
        "select, textarea, input:not([type=hidden])",
        "controls => controls.filter(c => c.labels.length === 0).map(c => c.outerHTML)")
    assert not unlabelled
    first_select = doctor_page.locator("table.review select").first
    expect(first_select).to_have_accessible_name("Class of cell1.png")


OVERFLOW = """() => {
  const width = window.innerWidth;
  // A wide table may scroll inside its .table-scroll box; that box must fit the window.
  const right = table => (table.closest('.table-scroll') || table).getBoundingClientRect().right;
  return {
    page: document.documentElement.scrollWidth - width,
    tables: [...document.querySelectorAll('table')]
      .filter(table => right(table) > width + 0.5)
      .map(table => `${table.className || 'table'} ends at ${Math.round(right(table))} px`),
    // What sticks out, when something does: the first few elements past the right edge.
    beyond: [...document.querySelectorAll('body *')]
      .filter(element => element.getBoundingClientRect().right > width + 0.5).slice(0, 8)
      .map(element => `${element.tagName.toLowerCase()}.${element.className}`),
  };
}"""


@pytest.mark.parametrize("width", [800, 390])
def test_no_page_overflows_a_narrow_window(doctor_page, bench, screenshot, width):
    doctor_page.set_viewport_size({"width": width, "height": 900})
    problems = {}
    for name in ["specimen", "patient history", "worklist", "review", "cell"]:
        open_page(doctor_page, bench[name])
        screenshot(doctor_page, f"narrow-{width}-{name.replace(' ', '-')}")
        overflow = doctor_page.evaluate(OVERFLOW)
        if overflow["page"] > 0 or overflow["tables"]:
            problems[name] = overflow
    assert not problems, f"at {width} px: {problems}"


@pytest.mark.parametrize("name", ["worklist", "specimen", "review", "patient history",
                                  "report", "cell"])
def test_the_bench_pages_need_nothing_the_content_security_policy_refuses(doctor_page, bench,
                                                                          name):
    # style-src has no 'unsafe-inline' since the charts are drawn by the server: a style
    # attribute, a <style> or an inline script would be refused and logged here.
    refused = []
    doctor_page.on("console", lambda message: refused.append(message.text)
                   if "Content Security Policy" in message.text else None)
    open_page(doctor_page, bench[name])
    assert not refused, f"{name}: {refused}"
