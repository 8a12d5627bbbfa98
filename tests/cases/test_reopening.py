"""Re-opening a signed specimen re-opens its case; its next sign-off closes it again."""
from cases.models import Case, Disagreement, HandOver, ScreeningFindings
from diagnostics.review import amend_sign_off, reopen_specimen, sign_off_specimen

REPORT = {"adequacy": "satisfactory", "interpretation": "lsil"}


def signed_out(case, cytotechnologist, pathologist):
    ScreeningFindings.objects.create(case=case, screener=cytotechnologist,
                                     adequacy="satisfactory", interpretation="asc_us")
    Case.objects.filter(pk=case.pk).update(stage=Case.Stage.WITH_PATHOLOGIST,
                                           screener=cytotechnologist, pathologist=pathologist)
    sign_off_specimen(case.specimen, pathologist, **REPORT)
    case.refresh_from_db()
    assert case.stage == Case.Stage.SIGNED_OUT
    return case


def test_reopening_gives_the_case_back_to_the_pathologist(case, cytotechnologist, pathologist,
                                                           other_doctor):
    signed_out(case, cytotechnologist, pathologist)
    reopen_specimen(case.specimen, other_doctor, "A new slide is coming.")
    case.refresh_from_db()
    assert (case.stage, case.pathologist) == (Case.Stage.WITH_PATHOLOGIST, other_doctor)
    last = HandOver.objects.filter(case=case).last()
    assert (last.stage, last.by, last.from_user) == (Case.Stage.WITH_PATHOLOGIST, other_doctor,
                                                     pathologist)
    assert "A new slide is coming." in last.note


def test_the_next_sign_off_closes_it_again(case, cytotechnologist, pathologist):
    signed_out(case, cytotechnologist, pathologist)
    reopen_specimen(case.specimen, pathologist, "More cells.")
    sign_off_specimen(case.specimen, pathologist, adequacy="satisfactory", interpretation="hsil")
    case.refresh_from_db()
    assert case.stage == Case.Stage.SIGNED_OUT
    assert Disagreement.objects.get(case=case).pathologist_interpretation == "hsil"


def test_an_amendment_leaves_the_case_signed_out(case, cytotechnologist, pathologist):
    signed_out(case, cytotechnologist, pathologist)
    hand_overs = HandOver.objects.filter(case=case).count()
    amend_sign_off(case.specimen, pathologist, amendment_reason="Typo.", **REPORT)
    case.refresh_from_db()
    assert case.stage == Case.Stage.SIGNED_OUT
    assert HandOver.objects.filter(case=case).count() == hand_overs


def test_a_released_case_reopened_is_signed_out_by_the_pathologist(case, cytotechnologist,
                                                                   pathologist):
    Case.objects.filter(pk=case.pk).update(released_by_screener=True, screener=cytotechnologist)
    sign_off_specimen(case.specimen, cytotechnologist, adequacy="satisfactory",
                      interpretation="nilm")
    reopen_specimen(case.specimen, pathologist, "Second look at the slide.")
    sign_off_specimen(case.specimen, pathologist, adequacy="satisfactory", interpretation="nilm")
    case.refresh_from_db()
    last = HandOver.objects.filter(case=case).last()
    assert case.stage == Case.Stage.SIGNED_OUT
    assert (last.from_user, last.by) == (pathologist, pathologist)


def test_a_released_nilm_signed_again_as_an_abnormality_is_a_disagreement(
        case, cytotechnologist, pathologist):
    ScreeningFindings.objects.create(case=case, screener=cytotechnologist,
                                     adequacy="satisfactory", interpretation="nilm")
    Case.objects.filter(pk=case.pk).update(released_by_screener=True, screener=cytotechnologist)
    sign_off_specimen(case.specimen, cytotechnologist, adequacy="satisfactory",
                      interpretation="nilm")
    assert not Disagreement.objects.exists()  # the release itself
    reopen_specimen(case.specimen, pathologist, "Quality control rescreen found koilocytes.")
    sign_off_specimen(case.specimen, pathologist, adequacy="satisfactory", interpretation="lsil")
    disagreement = Disagreement.objects.get(case=case)
    assert (disagreement.screener, disagreement.screener_interpretation) == (
        cytotechnologist, "nilm")
    assert (disagreement.pathologist, disagreement.pathologist_interpretation) == (
        pathologist, "lsil")
