"""The case in a real browser: lab staff accession a specimen with its requisition and upload
its cells; without any administrator it is in the lab's screening queue; a cytotechnologist
claims it, screens it and sends it to a pathologist. A second, clean NILM case is released by
the cytotechnologist."""
import pytest
from playwright.sync_api import expect

from cases.accessioning import accession
from cases.models import Case, Requisition
from diagnostics.models import SpecimenSignOff
from imaging.models import Specimen
from tests.browser.test_accessibility import assert_no_blocking_violations

CELLS = 3
NORMAL = {"Superficial-Intermediate": 0.95, "Parabasal": 0.05}
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def members(lab, lab_staff, cytotechnologist):
    lab.members.add(lab_staff)


def accession_in_browser(page, patient, clinician):
    page.goto(f"/patients/{patient.pk}/specimens/new/")
    assert_no_blocking_violations(page, "accessioning")
    page.get_by_label("Accession number").fill("CASE-B1")
    page.get_by_label("Collection date").fill("2026-11-20")
    page.get_by_label("Ordering clinician").select_option(label=clinician.username)
    page.get_by_label("Specimen type").select_option("liquid_based")
    page.get_by_label("HPV result").select_option("positive_16")
    page.get_by_label("Previous abnormal result").check()
    page.get_by_role("button", name="Accession specimen").click()
    expect(page.locator(".message.success")).to_contain_text("in the screening queue of North lab")


def test_accessioned_case_is_screened_and_sent_to_a_pathologist(
        members, new_page, screenshot, log_in, lab_staff, cytotechnologist, clinician, patient,
        sample_cell_paths, celery_worker):
    page = new_page()
    log_in(page, lab_staff)
    accession_in_browser(page, patient, clinician)
    expect(page.locator(".case-panel")).to_contain_text("Awaiting screening")
    page.locator("input[type=file]").set_input_files(
        [str(path) for path in sample_cell_paths[::9][:CELLS]])
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#progress")).to_contain_text(f"{CELLS} done", timeout=120_000)
    screenshot(page, "case-01-lab-accessioned")
    assert_no_blocking_violations(page, "specimen with its case panel")

    screener = new_page()
    log_in(screener, cytotechnologist)
    screener.goto("/cases/queue/")
    expect(screener.get_by_role("link", name="CASE-B1")).to_be_visible()
    screenshot(screener, "case-02-screening-queue")
    assert_no_blocking_violations(screener, "screening queue")
    screener.get_by_role("button", name="Claim CASE-B1").click()
    expect(screener.get_by_role("heading", name="Screen specimen CASE-B1")).to_be_visible()
    screener.get_by_label("Satisfactory for evaluation", exact=True).check()
    screener.get_by_label("Provisional interpretation").select_option("lsil")
    screener.get_by_label("Screener's comment").fill("Koilocytes in several fields.")
    screenshot(screener, "case-03-screening")
    assert_no_blocking_violations(screener, "screening")
    screener.get_by_role("button", name="Send to pathologist").click()
    expect(screener.locator(".message.success")).to_contain_text("sent to the pathologists' queue")

    case = Case.objects.get(specimen__accession_number="CASE-B1")
    assert case.stage == Case.Stage.AWAITING_PATHOLOGIST
    assert (case.findings.interpretation, case.findings.screener) == ("lsil", cytotechnologist)
    assert [h.stage for h in case.hand_overs.all()] == [
        "awaiting_screening", "in_screening", "awaiting_pathologist"]


def test_a_clean_nilm_case_is_released_by_the_cytotechnologist(
        members, new_page, screenshot, log_in, lab, lab_staff, cytotechnologist, clinician,
        patient, make_result):
    specimen = Specimen(patient=patient, accession_number="CASE-B2", collected_on="2026-11-21")
    accession(specimen, Requisition(ordering_clinician=clinician, specimen_type="conventional"),
              lab, lab_staff)
    for _ in range(2):
        make_result(specimen, NORMAL)

    page = new_page()
    log_in(page, cytotechnologist)
    page.goto("/cases/queue/")
    page.get_by_role("button", name="Claim CASE-B2").click()
    page.get_by_label("Satisfactory for evaluation", exact=True).check()
    page.get_by_label("Provisional interpretation").select_option("nilm")
    page.get_by_role("button", name="Release as NILM").click()
    expect(page.locator(".message.success")).to_contain_text("released as NILM")
    screenshot(page, "case-04-released")
    page.goto(specimen.get_absolute_url())
    expect(page.locator(".case-panel")).to_contain_text("Signed out")

    sign_off = SpecimenSignOff.objects.get(specimen=specimen)
    assert (sign_off.signed_by, sign_off.interpretation) == (cytotechnologist, "nilm")
