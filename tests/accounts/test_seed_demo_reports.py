"""seed_demo signs three Bethesda reports for the demo clinician's patients, their cells
classified with the shipped model: NILM with Candida, LSIL with HPV 16 (amended), and an
unsatisfactory slide."""
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from cases.models import Case
from diagnostics.models import CellResult, SpecimenSignOff
from imaging.models import Specimen


@pytest.fixture
def seeded(db, settings):
    settings.DEMO_MODE = True
    call_command("seed_demo", stdout=io.StringIO())
    return {specimen.patient.mrn: specimen for specimen in Specimen.objects.select_related(
        "patient", "requisition__ordering_clinician", "case")}


def versions(specimen):
    return list(SpecimenSignOff.objects.filter(specimen=specimen).order_by("version"))


def test_the_demo_clinician_orders_the_signed_specimens(seeded):
    clinician = User.objects.get(username="clinician")
    for mrn in ["DEMO-0004", "DEMO-0005", "DEMO-0006"]:
        specimen = seeded[mrn]
        assert specimen.requisition.ordering_clinician == clinician
        assert specimen.case.stage == Case.Stage.SIGNED_OUT
        assert clinician.has_perm("patients.view_patient", specimen.patient)
    assert Case.objects.filter(stage=Case.Stage.AWAITING_SCREENING).count() == 3


def test_a_nilm_report_with_candida_after_the_cells_are_classified(seeded):
    specimen = seeded["DEMO-0004"]
    assert not CellResult.objects.filter(image__specimen=specimen).exclude(
        status__in=["done", "failed"]).exists()
    [report] = versions(specimen)
    assert (report.interpretation, report.organisms, report.hpv_result,
            report.recommendations) == ("nilm", ["candida"], "not_done", ["routine_screening"])
    assert report.ai_used and report.cells_analysed == 3
    assert report.signed_by.username == "doctor" and "Candida" in report.report_text


def test_an_lsil_report_with_hpv_16_and_its_amendment(seeded):
    first, amended = versions(seeded["DEMO-0005"])
    assert (first.interpretation, first.hpv_result, first.recommendations) == (
        "lsil", "positive_16", ["colposcopy"])
    assert amended.version == 2 and amended.amendment_reason.startswith("Educational note")
    assert "HPV 16 with LSIL" in amended.educational_note


def test_an_unsatisfactory_report_with_its_reason_and_a_repeat(seeded):
    [report] = versions(seeded["DEMO-0006"])
    assert (report.adequacy, report.unsatisfactory_kind, report.unsatisfactory_reason,
            report.interpretation, report.recommendations) == (
        "unsatisfactory", "processed", "obscuring_blood", "", ["repeat_2_4_months"])


def test_the_clinician_reads_the_signed_report(seeded, client_for):
    page = client_for(User.objects.get(username="clinician")).get(
        reverse("diagnostics:report", args=[seeded["DEMO-0005"].pk])).content.decode()
    assert "Low-grade squamous intraepithelial lesion" in page and "Chris Clinician" in page


def test_a_second_run_signs_nothing_again(seeded):
    call_command("seed_demo", stdout=io.StringIO())
    assert SpecimenSignOff.objects.count() == 4
