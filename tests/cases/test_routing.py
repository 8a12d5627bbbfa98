"""Two tiers: what a cytotechnologist may release, what goes to a pathologist, and the
disagreements between them."""
import pytest
from django.urls import reverse

from cases.models import Case, Disagreement, ScreeningFindings
from cases.routing import RELEASE, TO_PATHOLOGIST, route
from diagnostics.models import SpecimenSignOff
from diagnostics.review import sign_off_specimen
from tests.cases.conftest import ABNORMAL, NORMAL


NILM = {"adequacy": "satisfactory", "interpretation": "nilm"}


@pytest.mark.parametrize("findings, flagged, allowed, expected", [
    (NILM, False, True, RELEASE),
    ({**NILM, "organisms": ["candida"]}, False, True, RELEASE),
    (NILM, True, True, TO_PATHOLOGIST),        # AI-flagged abnormal cells
    (NILM, False, False, TO_PATHOLOGIST),      # the lab's setting is off
    ({**NILM, "other_findings": ["reactive_inflammation"]}, False, True, TO_PATHOLOGIST),
    ({**NILM, "interpretation": "endometrial_cells"}, False, True, TO_PATHOLOGIST),
    ({**NILM, "interpretation": "asc_us"}, False, True, TO_PATHOLOGIST),
    ({**NILM, "interpretation": "lsil"}, False, True, TO_PATHOLOGIST),
    ({"adequacy": "unsatisfactory", "interpretation": ""}, False, True, TO_PATHOLOGIST),
])
def test_the_routing_rule(findings, flagged, allowed, expected):
    assert route(findings, flagged, allowed) == expected


@pytest.fixture
def claimed(client_for, case, cytotechnologist):
    client = client_for(cytotechnologist)
    client.post(reverse("cases:claim", args=[case.pk]))
    return client


def screen(client, case, interpretation, release=False, adequacy="satisfactory", **more):
    data = {"adequacy": adequacy, "interpretation": interpretation, "comment": "Screened.",
            "transformation_zone": "present", **more}
    data["release" if release else "send"] = "1"
    return client.post(reverse("cases:screen", args=[case.pk]), data, follow=True)


def test_a_clean_nilm_case_is_released_and_signed_out(claimed, case, make_result,
                                                      cytotechnologist):
    make_result(case.specimen, NORMAL)
    page = screen(claimed, case, "nilm", release=True)
    assert "released as NILM" in page.content.decode()
    case.refresh_from_db()
    assert case.stage == Case.Stage.SIGNED_OUT and case.released_by_screener
    sign_off = SpecimenSignOff.objects.get(specimen=case.specimen)
    assert (sign_off.signed_by, sign_off.interpretation) == (cytotechnologist, "nilm")
    assert (sign_off.adequacy, sign_off.specimen_type) == ("satisfactory", "liquid_based")
    assert not Disagreement.objects.exists()


def test_ai_flagged_abnormal_cells_keep_a_case_from_release(claimed, case, make_result):
    make_result(case.specimen, ABNORMAL)
    page = screen(claimed, case, "nilm", release=True)
    assert "cannot be released by a cytotechnologist" in page.content.decode()
    case.refresh_from_db()
    assert case.stage == Case.Stage.IN_SCREENING
    assert not SpecimenSignOff.objects.exists()


def test_a_referred_cell_keeps_a_case_from_release(claimed, case, make_result):
    make_result(case.specimen, NORMAL, refer=True)
    screen(claimed, case, "nilm", release=True)
    assert not SpecimenSignOff.objects.exists()


def test_no_release_where_the_lab_setting_is_off(claimed, case, lab, make_result):
    lab.cytotechnologist_may_release_nilm = False
    lab.save()
    make_result(case.specimen, NORMAL)
    page = screen(claimed, case, "nilm", release=True)
    assert "cannot be released" in page.content.decode()
    assert not SpecimenSignOff.objects.exists()


def test_an_abnormality_goes_to_the_pathologist_with_the_findings(
        claimed, case, make_result, pathologist, client_for):
    make_result(case.specimen, ABNORMAL)
    screen(claimed, case, "lsil")
    case.refresh_from_db()
    assert (case.stage, case.findings.interpretation) == (Case.Stage.AWAITING_PATHOLOGIST, "lsil")
    assert case.hand_overs.last().note == "Screened; sent to a pathologist."
    queue = client_for(pathologist).get(reverse("cases:pathologist_queue")).content.decode()
    assert case.specimen.accession_number in queue
    specimen_page = client_for(pathologist).get(case.specimen.get_absolute_url())
    assert "LSIL" in specimen_page.content.decode()


def test_only_the_screener_holding_the_case_may_screen_it(
        claimed, case, other_cytotechnologist, client_for):
    screen(client_for(other_cytotechnologist), case, "nilm")
    case.refresh_from_db()
    assert case.stage == Case.Stage.IN_SCREENING and not ScreeningFindings.objects.exists()


def test_a_pathologist_signing_another_interpretation_is_a_disagreement(
        claimed, case, pathologist, cytotechnologist):
    screen(claimed, case, "nilm", other_findings=["reactive_inflammation"])
    sign_off_specimen(case.specimen, pathologist, adequacy="satisfactory", interpretation="asc_us")
    case.refresh_from_db()
    assert case.stage == Case.Stage.SIGNED_OUT
    disagreement = Disagreement.objects.get(case=case)
    assert (disagreement.screener, disagreement.screener_interpretation) == (
        cytotechnologist, "nilm")
    assert (disagreement.pathologist, disagreement.pathologist_interpretation) == (
        pathologist, "asc_us")


def test_a_pathologist_agreeing_with_the_screener_is_no_disagreement(claimed, case, pathologist):
    screen(claimed, case, "lsil")
    sign_off_specimen(case.specimen, pathologist, adequacy="satisfactory", interpretation="lsil")
    assert not Disagreement.objects.exists()
    case.refresh_from_db()
    assert case.stage == Case.Stage.SIGNED_OUT


def test_the_screeners_findings_follow_the_bethesda_consistency_rules(claimed, case):
    page = screen(claimed, case, "lsil", other_findings=["reactive_inflammation"])
    assert "reported under NILM" in page.content.decode()
    case.refresh_from_db()
    assert case.stage == Case.Stage.IN_SCREENING
