"""The report names the requisition: who ordered it, the specimen, its dates and the clinical
history in words, on the printed page and in each signed version's text."""
import pytest
from django.urls import reverse

from cases.models import Requisition
from diagnostics import review
from diagnostics.triage import TRIAGE_RULE

NILM = {"adequacy": "satisfactory", "transformation_zone": "present", "interpretation": "nilm"}


@pytest.fixture
def requisition(specimen, clinician):
    clinician.first_name, clinician.last_name = "Ada", "Ordering"
    clinician.save()
    return Requisition.objects.create(
        specimen=specimen, ordering_clinician=clinician, specimen_type="liquid_based",
        last_menstrual_period="2026-10-20", previous_abnormal_result=True,
        hpv_result="positive_16", post_menopausal=False, pregnant=True, hysterectomy=True,
        other_risk_flags=["hiv", "iud"])


def report_page(client_for, user, specimen):
    return client_for(user).get(reverse("diagnostics:report", args=[specimen.pk])).content.decode()


REQUISITION_WORDS = ["Ada Ordering", "Liquid-based preparation", "2026-11-01", "2026-10-20",
                     "previous abnormal result", "pregnant", "hysterectomy", "HIV positive",
                     "Intrauterine device", "HPV result: HPV 16 detected"]


def test_the_printed_report_shows_the_requisition(client_for, doctor, specimen, requisition):
    page = report_page(client_for, doctor, specimen)
    block = page[page.index("<h3>Requisition</h3>"):page.index("</dl>", page.index("<h3>Requisition</h3>"))]
    for words in ["Ordering clinician", "Collection date", "Last menstrual period",
                  "Clinical history", *REQUISITION_WORDS]:
        assert words in block, words
    assert "post menopausal" not in block  # only the flags that are set
    assert TRIAGE_RULE not in page and "Triage score" not in page


def test_the_signed_text_keeps_the_requisition(doctor, specimen, requisition):
    report = review.sign_off_specimen(specimen, doctor, **NILM)
    for words in ["Ordering clinician: Ada Ordering", *REQUISITION_WORDS]:
        assert words in report.report_text, words
    assert TRIAGE_RULE not in report.report_text and "riage" not in report.report_text


def test_a_requisition_without_history_or_lmp_says_so(client_for, doctor, specimen, clinician):
    Requisition.objects.create(specimen=specimen, ordering_clinician=clinician,
                               specimen_type="conventional")
    page = report_page(client_for, doctor, specimen)
    assert "clin_ordering" in page  # no full name: the username
    assert "not given" in page and "HPV result: Not done" in page
    report = review.sign_off_specimen(specimen, doctor, **NILM)
    assert "Clinical history: HPV result: Not done" in report.report_text


def test_a_specimen_without_a_requisition_has_no_requisition_block(client_for, doctor, specimen):
    page = report_page(client_for, doctor, specimen)
    assert "<h3>Requisition</h3>" not in page
    assert "Ordering clinician" not in review.sign_off_specimen(specimen, doctor, **NILM).report_text
