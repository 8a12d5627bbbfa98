"""The case in a real browser: lab staff accession a specimen with its requisition and upload
its cells; without any administrator it is in the lab's screening queue; a cytotechnologist
claims it, screens it (ASC-US) and sends it to a pathologist, who claims it from the
pathologists' queue and signs a Bethesda report (LSIL, HPV 16, colposcopy) starting from the
screener's findings: a disagreement is recorded. The ordering clinician reads the signed report
on the patient's history and prints it; another clinician's patient is a 404. A second, clean
NILM case is released by the cytotechnologist."""
import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from cases.accessioning import accession
from cases.models import Case, Disagreement, Requisition
from diagnostics.models import SpecimenSignOff
from diagnostics.triage import TRIAGE_RULE
from imaging.models import Specimen
from patients.models import Patient
from tests.browser.test_accessibility import assert_no_blocking_violations
from tests.browser.test_review_workflow import accept_every_flagged_cell

CELLS = 3
NORMAL = {"Superficial-Intermediate": 0.95, "Parabasal": 0.05}
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def members(lab, lab_staff, cytotechnologist, doctor):
    lab.members.add(lab_staff, doctor)  # the doctor is a pathologist of the lab


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


def test_the_whole_case_from_accessioning_to_the_clinicians_report(
        members, new_page, screenshot, log_in, lab, lab_staff, cytotechnologist, doctor,
        clinician, other_clinician, patient, sample_cell_paths, celery_worker):
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
    screener.get_by_label("Provisional interpretation").select_option("asc_us")
    screener.get_by_label("Screener's comment").fill("Koilocytes in several fields.")
    screenshot(screener, "case-03-screening")
    assert_no_blocking_violations(screener, "screening")
    screener.get_by_role("button", name="Send to pathologist").click()
    expect(screener.locator(".message.success")).to_contain_text("sent to the pathologists' queue")

    case = Case.objects.get(specimen__accession_number="CASE-B1")
    assert case.stage == Case.Stage.AWAITING_PATHOLOGIST
    assert (case.findings.interpretation, case.findings.screener) == ("asc_us", cytotechnologist)
    assert [h.stage for h in case.hand_overs.all()] == [
        "awaiting_screening", "in_screening", "awaiting_pathologist"]

    pathologist_signs_lsil(new_page, screenshot, log_in, doctor)
    case.refresh_from_db()
    assert case.stage == Case.Stage.SIGNED_OUT and case.pathologist == doctor
    disagreement = Disagreement.objects.get(case=case)
    assert (disagreement.screener_interpretation, disagreement.pathologist_interpretation) == (
        "asc_us", "lsil")

    clinician_reads_the_report(new_page, screenshot, log_in, clinician, patient, doctor)
    other_patient = Patient.objects.create(mrn="CASE-OTHER", full_name="Other Clinician's Patient",
                                           date_of_birth="1975-03-04", created_by=lab_staff)
    accession(Specimen(patient=other_patient, accession_number="CASE-B3",
                       collected_on="2026-11-22"),
              Requisition(ordering_clinician=other_clinician, specimen_type="conventional"),
              lab, lab_staff)
    clinician_page = new_page()
    log_in(clinician_page, clinician)
    assert clinician_page.goto(other_patient.get_absolute_url()).status == 404


def pathologist_signs_lsil(new_page, screenshot, log_in, doctor):
    """From the pathologists' queue to a signed LSIL report; the form starts from the screener's
    findings and the requisition (ASC-US, liquid-based, HPV 16 detected)."""
    page = new_page()
    log_in(page, doctor)
    page.goto("/cases/pathologist/")
    screenshot(page, "case-05-pathologist-queue")
    page.get_by_role("button", name="Claim CASE-B1").click()
    page.get_by_role("link", name="Review and sign off").click()
    expect(page.get_by_role("heading", name="Review specimen CASE-B1")).to_be_visible()
    expect(page.locator(".screener-findings")).to_contain_text("ASC-US")
    expect(page.locator(".screener-findings")).to_contain_text("Koilocytes in several fields.")
    form = page.locator("form.bethesda-report")
    expect(form.get_by_label("Interpretation/result")).to_have_value("asc_us")
    expect(form.get_by_label("Liquid-based preparation", exact=True)).to_be_checked()
    expect(form.get_by_label("HPV 16 detected", exact=True)).to_be_checked()
    accept_every_flagged_cell(page)
    form.get_by_label("Satisfactory for evaluation", exact=True).check()
    form.get_by_label("Epithelial cell abnormality", exact=True).check()
    form.get_by_label("Interpretation/result").select_option("lsil")
    form.get_by_label("Colposcopy", exact=True).check()
    screenshot(page, "case-06-pathologist-report-form")
    page.get_by_role("button", name="Sign off").click()
    expect(page.locator(".message.success")).to_contain_text("signed off: Low-grade squamous")


def clinician_reads_the_report(new_page, screenshot, log_in, clinician, patient, doctor):
    page = new_page()
    log_in(page, clinician)
    page.goto(patient.get_absolute_url())
    expect(page.get_by_text("(LSIL)").first).to_be_visible()
    screenshot(page, "case-07-clinician-history")
    page.get_by_role("link", name="Report", exact=True).first.click()
    expect(page.get_by_role("heading", name=re.compile("Cervical cytology report"))).to_be_visible()
    report = page.locator("article.report")
    expect(report.locator(".lab-name")).to_have_text(settings.CELINSIGHT_LAB_NAME)
    for section in ["Patient and specimen", "Requisition", "Specimen type", "Specimen adequacy",
                    "General categorisation", "Interpretation/result", "Adjunctive testing (HPV)",
                    "Computer-assisted interpretation", "Recommendations and educational notes",
                    "Signed"]:
        expect(report.get_by_text(section, exact=True).first).to_be_visible()
    for fact in [patient.full_name, patient.mrn, "Liquid-based", "Satisfactory for evaluation",
                 "Epithelial cell abnormality", "(LSIL)", "HPV 16", "Colposcopy",
                 "The final interpretation is the signer's."]:
        expect(report).to_contain_text(fact)
    expect(report.locator(".signer")).not_to_be_empty()
    assert TRIAGE_RULE not in page.content()
    stylesheet = page.locator("link[rel=stylesheet]").first.get_attribute("href")
    assert "counter(page)" in page.request.get(stylesheet).text()  # page numbers in print
    page.emulate_media(media="print")
    screenshot(page, "case-08-clinician-printable-report")


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
