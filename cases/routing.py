"""Where a screened case goes: released by the cytotechnologist, or on to a pathologist.

``route`` is the rule, a pure function; ``finish_screening`` applies it to a case; and
``record_sign_out`` closes a case when its specimen is signed off, noting where the
pathologist's interpretation differs from the screener's.
"""
from django.db import transaction
from django.db.models import Q

from cases.models import Case, Disagreement, HandOver, ScreeningFindings
from diagnostics.bethesda import EPITHELIAL_ABNORMALITIES, Adequacy, Interpretation
from diagnostics.models import CellResult
from diagnostics.review import ReviewRefused, sign_off_specimen
from diagnostics.triage import ABNORMAL_CLASSES

RELEASE = "release"
TO_PATHOLOGIST = "pathologist"
# The findings a released report carries over from the screener (the rest is the requisition's).
RELEASED_FIELDS = ["adequacy", "transformation_zone", "quality_indicators", "interpretation",
                   "organisms"]


def route(findings, ai_flagged_abnormal, lab_allows_release):
    """RELEASE when the screener may sign the case out alone, else TO_PATHOLOGIST.

    ``findings`` maps BethesdaFindings field names to the screener's values. Only a
    satisfactory specimen called NILM, with no other non-neoplastic finding (reactive
    changes and the like: organisms may be reported), no cell the AI flagged as abnormal,
    in a lab that lets cytotechnologists release NILM, is released. Anything else (an
    epithelial abnormality, reactive change, endometrial cells, an unsatisfactory specimen,
    AI-flagged cells) goes to a pathologist.
    """
    releasable = (findings.get("adequacy") == Adequacy.SATISFACTORY
                  and findings.get("interpretation") == Interpretation.NILM
                  and not findings.get("other_findings")
                  and not ai_flagged_abnormal and lab_allows_release)
    return RELEASE if releasable else TO_PATHOLOGIST


def ai_flagged_abnormal(specimen):
    """Whether any classified cell is referred to a cytologist, or predicted or reviewed
    as an abnormal class (diagnostics.triage.ABNORMAL_CLASSES)."""
    return CellResult.objects.filter(
        Q(refer_to_cytologist=True) | Q(predicted_class__in=ABNORMAL_CLASSES)
        | Q(review__reviewed_class__in=ABNORMAL_CLASSES),
        image__specimen=specimen, status=CellResult.Status.DONE,
    ).exists()


def finish_screening(case, screener, findings, comment, release):
    """Record the screener's findings (BethesdaFindings values); release the case (sign its
    report) when they ask to and ``route`` allows it, else send it to the pathologists'
    queue. Returns the route taken; ReviewRefused says why a release is not allowed."""
    if case.stage != Case.Stage.IN_SCREENING or case.screener_id != screener.pk:
        raise ReviewRefused(f"Case {case.specimen} is not in screening with you; claim it first.")
    allowed = route(findings, ai_flagged_abnormal(case.specimen),
                    case.lab.cytotechnologist_may_release_nilm)
    if release and allowed != RELEASE:
        raise ReviewRefused(
            "This case cannot be released by a cytotechnologist: only a satisfactory NILM "
            "case with no other non-neoplastic finding and no AI-flagged abnormal cell can, "
            "where the lab allows it. Send it to a pathologist.")
    with transaction.atomic():
        ScreeningFindings.objects.update_or_create(
            case=case, defaults={**findings, "screener": screener, "comment": comment})
        if release:
            case.released_by_screener = True
            case.save()
            sign_off_specimen(case.specimen, screener, **released_report(case, findings, comment))
        else:
            case.stage = Case.Stage.AWAITING_PATHOLOGIST
            case.save()
            HandOver.objects.create(case=case, stage=case.stage, from_user=screener,
                                    by=screener, note="Screened; sent to a pathologist.")
    return RELEASE if release else TO_PATHOLOGIST


def released_report(case, findings, comment):
    """The Bethesda fields of the report a cytotechnologist signs when releasing a case."""
    note = "Screened and released by a cytotechnologist (NILM, no AI-flagged abnormal cell)."
    fields = {name: findings[name] for name in RELEASED_FIELDS if name in findings}
    requisition = getattr(case.specimen, "requisition", None)
    if requisition is not None:
        fields |= {"specimen_type": requisition.specimen_type,
                   "hpv_result": requisition.hpv_result}
    return {**fields, "comment": f"{comment}\n\n{note}".strip() if comment else note}


def record_sign_out(sender, instance, created, **kwargs):
    """post_save of a SpecimenSignOff: the case is signed out; a pathologist's interpretation
    other than the screener's is a Disagreement. Amendments of a signed-out case change
    nothing here; the sign-off of a re-opened one closes it again."""
    case = Case.objects.filter(specimen_id=instance.specimen_id).first()
    if not created or case is None or case.stage == Case.Stage.SIGNED_OUT:
        return
    # Who held it: its pathologist (one who re-opened a released case, too), else the
    # screener who released it.
    previous = case.pathologist or (case.screener if case.released_by_screener else None)
    case.stage = Case.Stage.SIGNED_OUT
    case.save(update_fields=["stage"])
    HandOver.objects.create(case=case, stage=case.stage, from_user=previous,
                            by=instance.signed_by, note=f"Signed off (version {instance.version}).")
    record_disagreement(case, instance.signed_by, instance.interpretation)


def record_reopening(sender, instance, created, **kwargs):
    """post_save of a SpecimenReopening: the signed-out case goes back to the pathologist who
    re-opened it (a hand-over row), until its next sign-off closes it again."""
    case = Case.objects.filter(specimen_id=instance.specimen_id).first()
    if not created or case is None or case.stage != Case.Stage.SIGNED_OUT:
        return
    previous, case.pathologist = case.pathologist, instance.reopened_by
    case.stage = Case.Stage.WITH_PATHOLOGIST
    case.save(update_fields=["stage", "pathologist"])
    HandOver.objects.create(case=case, stage=case.stage, from_user=previous,
                            to_user=instance.reopened_by, by=instance.reopened_by,
                            note=f"Re-opened (version {instance.reopened_version}): "
                                 f"{instance.reason}"[:300])


def agree(screened, signed):
    """The same interpretation; a report migrated as "see comment" agrees with any
    epithelial abnormality."""
    if signed == Interpretation.SEE_COMMENT:
        return screened in EPITHELIAL_ABNORMALITIES
    return screened == signed


def record_disagreement(case, pathologist, pathologist_interpretation):
    """A Disagreement when a screened case is signed out as something else; None otherwise.
    A case the screener released and a pathologist re-opened and signed again is compared
    too: a released NILM signed as an abnormality is the screener's false negative."""
    findings = ScreeningFindings.objects.filter(case=case).first()
    if findings is None or pathologist == findings.screener:  # the screener's own release
        return None
    if agree(findings.interpretation, pathologist_interpretation):
        # A re-opened case signed again as the screener called it agrees after all.
        Disagreement.objects.filter(case=case).delete()
        return None
    disagreement, _ = Disagreement.objects.update_or_create(case=case, defaults={
        "screener": findings.screener, "screener_interpretation": findings.interpretation,
        "pathologist": pathologist, "pathologist_interpretation": pathologist_interpretation})
    return disagreement
