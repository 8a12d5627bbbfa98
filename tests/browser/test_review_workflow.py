"""The screening journey in a real browser: upload, watch, review, override, sign off."""
import time

import pytest
from playwright.sync_api import expect

from diagnostics.models import CellReview, SpecimenSignOff

CELLS = 4
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def uploaded_by_lab_staff(new_page, screenshot, log_in, lab_staff, specimen, sample_cell_paths,
                          celery_worker):
    page = new_page()
    log_in(page, lab_staff)
    page.goto(specimen.get_absolute_url())
    page.locator("input[type=file]").set_input_files(
        [str(path) for path in sample_cell_paths[::7][:CELLS]])  # several classes
    started = time.monotonic()
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#progress")).to_contain_text(f"{CELLS} done", timeout=120_000)
    screenshot(page, "01-lab-specimen-classified")
    page.goto("/batches/")
    expect(page.get_by_text(specimen.accession_number).first).to_be_visible()
    screenshot(page, "02-lab-my-batches")
    return started


def test_lab_staff_upload_and_a_doctor_signs_off(uploaded_by_lab_staff, new_page, screenshot,
                                                 log_in, record_timing, doctor, administrator,
                                                 specimen):
    page = new_page()
    log_in(page, doctor)
    page.goto(specimen.get_absolute_url())
    expect(page.locator("#class-chart rect").first).to_be_attached()  # the server drew it
    expect(page.locator(".cell-gallery li")).to_have_count(CELLS)
    screenshot(page, "03-doctor-specimen")
    page.goto("/worklist/")
    screenshot(page, "04-doctor-worklist")
    page.get_by_role("link", name=specimen.accession_number).first.click()
    expect(page.get_by_role("heading", name=f"Specimen {specimen.accession_number}")
           ).to_be_visible()  # the worklist opens the gallery first
    page.get_by_role("link", name="Review and sign off").click()
    expect(page.get_by_role("heading", name=f"Review specimen {specimen.accession_number}")
           ).to_be_visible()
    accept_every_flagged_cell(page)
    override_first_cell(page)
    screenshot(page, "05-doctor-review")
    fill_in_an_lsil_report(page)
    page.get_by_role("button", name="Sign off").click()
    expect(page.locator(".message.success")).to_contain_text("signed off: Low-grade squamous")
    seconds = time.monotonic() - uploaded_by_lab_staff
    screenshot(page, "06-doctor-signed-off")
    record_timing("upload_to_sign_off_seconds", seconds)
    page.goto(specimen.patient.get_absolute_url())
    expect(page.get_by_text("(LSIL)").first).to_be_visible()
    screenshot(page, "07-doctor-patient-history")
    page.goto(f"/specimens/{specimen.pk}/report/")
    for section in ["Specimen adequacy", "General categorisation", "Interpretation/result",
                    "Adjunctive testing (HPV)", "Computer-assisted interpretation",
                    "Recommendations and educational notes", "Report history"]:
        expect(page.get_by_text(section, exact=True).first).to_be_visible()
    page.emulate_media(media="print")
    screenshot(page, "08-doctor-printable-report")

    admin_page = new_page()
    log_in(admin_page, administrator)
    admin_page.goto("/dashboard/")
    expect(admin_page.get_by_text(f"{CELLS} classified").first).to_be_visible()
    screenshot(admin_page, "10-admin-dashboard")
    assert SpecimenSignOff.objects.get(specimen=specimen).signed_by == doctor
    assert CellReview.objects.filter(accepted=False, reviewer=doctor).count() == 1


def test_a_second_doctor_cannot_open_the_specimen(new_page, screenshot, log_in, other_doctor,
                                                  specimen):
    page = new_page()
    log_in(page, other_doctor)
    response = page.goto(specimen.get_absolute_url())
    assert response.status == 404
    page.goto("/worklist/")
    expect(page.get_by_text(specimen.accession_number)).to_have_count(0)
    screenshot(page, "09-other-doctor-worklist")


def fill_in_an_lsil_report(page):
    """The Bethesda form: LSIL with HPV 16 detected and a colposcopy recommended."""
    form = page.locator("form.bethesda-report")
    form.get_by_label("Liquid-based preparation", exact=True).check()
    form.get_by_label("Satisfactory for evaluation", exact=True).check()
    form.get_by_label("Epithelial cell abnormality", exact=True).check()
    form.get_by_label("Interpretation/result").select_option("lsil")
    form.get_by_label("HPV 16 detected", exact=True).check()
    form.get_by_label("Colposcopy", exact=True).check()


def accept_every_flagged_cell(page):
    for index in range(page.locator("tr.flagged").count()):
        page.locator("tr.flagged").nth(index).get_by_role("button", name="Accept").click()
        page.wait_for_load_state()


def override_first_cell(page):
    row = page.locator("table.review tbody tr").first
    predicted = row.locator("td").nth(2).inner_text().split(" Refer")[0].strip()
    select = row.locator("select")
    other = next(value for value in select.locator("option").all_inner_texts()
                 if value != predicted)
    select.select_option(other)
    row.get_by_role("button", name="Set class").click()
    expect(page.get_by_text(f"overridden to {other}").first).to_be_visible()
