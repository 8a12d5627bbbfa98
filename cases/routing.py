"""Where a screened case goes: released by the cytotechnologist, or on to a pathologist.

``route`` is the rule, a pure function; ``finish_screening`` applies it to a case; and
``record_sign_out`` closes a case when its specimen is signed off, noting where the
pathologist's interpretation differs from the screener's.
"""
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cases.models import Case, Disagreement, HandOver
from cases.vocabulary import RELEASABLE, Adequacy
from diagnostics.models import CellResult
from diagnostics.review import ReviewRefused, sign_off_specimen
from diagnostics.triage import ABNORMAL_CLASSES

RELEASE = "release"
TO_PATHOLOGIST = "pathologist"

# The old sign-off words in the screener's vocabulary, until the Bethesda sign-off replaces them.
SIGN_OFF_AS_INTERPRETATION = {"negative": "nilm", "benign_change": "nilm_reactive"}


def route(adequacy, interpretation, ai_flagged_abnormal, lab_allows_release):
    """RELEASE when the screener may sign the case out alone, else TO_PATHOLOGIST.

    Only a satisfactory specimen called plain NILM, with no cell the AI flagged as abnormal,
    in a lab that lets cytotechnologists release NILM, is released; anything else (an
    epithelial abnormality, reactive change, endometrial cells, an unsatisfactory specimen,
    AI-flagged cells) goes to a pathologist.
    """
    releasable = (adequacy == Adequacy.SATISFACTORY and interpretation == RELEASABLE
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


def finish_screening(case, screener, adequacy, interpretation, comment, release):
    """Record the screener's findings; release the case (sign it off as negative) when they
    ask to and ``route`` allows it, else send it to the pathologists' queue. Returns the
    route taken; ReviewRefused says why a release is not allowed."""
    if case.stage != Case.Stage.IN_SCREENING or case.screener_id != screener.pk:
        raise ReviewRefused(f"Case {case.specimen} is not in screening with you; claim it first.")
    allowed = route(adequacy, interpretation, ai_flagged_abnormal(case.specimen),
                    case.lab.cytotechnologist_may_release_nilm)
    if release and allowed != RELEASE:
        raise ReviewRefused(
            "This case cannot be released by a cytotechnologist: only a satisfactory NILM "
            "case with no AI-flagged abnormal cell can, where the lab allows it. Send it to "
            "a pathologist.")
    with transaction.atomic():
        case.adequacy, case.provisional_interpretation = adequacy, interpretation
        case.screening_comment, case.screened_at = comment, timezone.now()
        if release:
            case.released_by_screener = True
            case.save()
            sign_off_specimen(case.specimen, screener, interpretation="negative",
                              comment=released_comment(comment))  # closes the case: below
        else:
            case.stage = Case.Stage.AWAITING_PATHOLOGIST
            case.save()
            HandOver.objects.create(case=case, stage=case.stage, from_user=screener,
                                    by=screener, note="Screened; sent to a pathologist.")
    return RELEASE if release else TO_PATHOLOGIST


def released_comment(comment):
    note = "Screened and released by a cytotechnologist (NILM, no AI-flagged abnormal cell)."
    return f"{comment}\n\n{note}".strip() if comment else note


def record_sign_out(sender, instance, created, **kwargs):
    """post_save of a SpecimenSignOff: the case is signed out; a pathologist's interpretation
    other than the screener's is a Disagreement. Amendments change nothing here."""
    case = Case.objects.filter(specimen_id=instance.specimen_id).first()
    if not created or case is None or case.stage == Case.Stage.SIGNED_OUT:
        return
    previous = case.screener if case.released_by_screener else case.pathologist
    case.stage = Case.Stage.SIGNED_OUT
    case.save(update_fields=["stage"])
    HandOver.objects.create(case=case, stage=case.stage, from_user=previous,
                            by=instance.signed_by, note=f"Signed off (version {instance.version}).")
    record_disagreement(case, instance.signed_by,
                        SIGN_OFF_AS_INTERPRETATION.get(instance.interpretation,
                                                       instance.interpretation))


def agree(screened, signed):
    """The same interpretation; the old "Abnormal: refer" agrees with any abnormality."""
    if signed == "abnormal_refer":
        return screened not in SIGN_OFF_AS_INTERPRETATION.values()
    return screened == signed


def record_disagreement(case, pathologist, pathologist_interpretation):
    """A Disagreement when a screened case is signed out as something else; None otherwise."""
    screened = case.provisional_interpretation
    if (not screened or case.released_by_screener or case.screener is None
            or agree(screened, pathologist_interpretation)):
        return None
    return Disagreement.objects.create(
        case=case, screener=case.screener, screener_interpretation=screened,
        pathologist=pathologist, pathologist_interpretation=pathologist_interpretation)
