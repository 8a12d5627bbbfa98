"""The lab's queues and who holds a case: claims, assignments and hand-overs, each a HandOver
row (and, through django-auditlog, a change of the case in the audit trail).

Each queue is a fixed number of queries, however many cases it has.
"""
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.access import cases_in_labs_of
from cases.models import Case, HandOver
from diagnostics.review import ReviewRefused
from imaging.models import triage_order

SCREEN_CASE = "cases.screen_case"
ASSIGN_CASE = "cases.assign_case"
SIGN_OFF = "diagnostics.sign_off_specimen"
Stage = Case.Stage


def in_queue_order(cases):
    """Highest triage score first (unscored last), then the oldest specimen."""
    return (cases.select_related("specimen__patient", "specimen__requisition", "screener",
                                 "pathologist", "lab")
            .order_by(triage_order("specimen__triage_score"),
                      "specimen__collected_on", "pk"))


def awaiting_screening(user):
    return in_queue_order(cases_in_labs_of(user).filter(stage=Stage.AWAITING_SCREENING))


def awaiting_pathologist(user):
    return in_queue_order(cases_in_labs_of(user).filter(stage=Stage.AWAITING_PATHOLOGIST))


def held_by(user):
    """The cases the user is screening or, as a pathologist, has taken."""
    return in_queue_order(cases_in_labs_of(user).filter(
        Q(stage=Stage.IN_SCREENING, screener=user) | Q(stage=Stage.WITH_PATHOLOGIST, pathologist=user)))


def screeners_of(lab):
    """Who may screen the lab's cases: its active members with the screening permission."""
    return (User.objects.filter(labs=lab, is_active=True)
            .filter(Q(groups__permissions__codename="screen_case",
                      groups__permissions__content_type__app_label="cases")
                    | Q(is_superuser=True))
            .distinct().order_by("username"))


def locked(case):
    """The case again, its row held until the transaction ends, so two claims take turns."""
    return Case.objects.select_for_update().select_related("specimen", "lab").get(pk=case.pk)


def claim(case, user):
    """The user takes the case: a screener from the screening queue, a pathologist (who may
    sign off) from the pathologists' queue."""
    with transaction.atomic():
        case = locked(case)
        if case.stage == Stage.AWAITING_SCREENING:
            return hand_over(case, user, user, Stage.IN_SCREENING, "Claimed for screening.")
        if case.stage == Stage.AWAITING_PATHOLOGIST and user.has_perm(SIGN_OFF):
            return hand_over(case, user, user, Stage.WITH_PATHOLOGIST, "Claimed by a pathologist.")
        raise ReviewRefused(already_taken(case))


def may_assign(user, case):
    """Supervisors assign any case of their labs; a screener hands over the case they hold."""
    holds_it = case.stage == Stage.IN_SCREENING and case.screener_id == user.pk
    return holds_it or user.has_perm(ASSIGN_CASE)


def assign(case, screener, by):
    """A supervisor gives a case awaiting or in screening to a named screener of its lab, or
    the screener holding it hands it over to one."""
    if not screeners_of(case.lab).filter(pk=screener.pk).exists():
        raise ReviewRefused(f"{screener} does not screen for {case.lab}; choose one of its screeners.")
    with transaction.atomic():
        case = locked(case)
        if case.stage not in (Stage.AWAITING_SCREENING, Stage.IN_SCREENING):
            raise ReviewRefused(f"Case {case.specimen} is past screening "
                                f"({case.get_stage_display().lower()}); it cannot be assigned.")
        note = f"Handed over by {by}." if case.screener_id == by.pk else f"Assigned by {by}."
        return hand_over(case, screener, by, Stage.IN_SCREENING, note)


def release_to_queue(case, user):
    """The screener gives the case back to the screening queue, unscreened."""
    with transaction.atomic():
        case = locked(case)
        if case.stage != Stage.IN_SCREENING or case.screener_id != user.pk:
            raise ReviewRefused(f"Case {case.specimen} is not in screening with you.")
        case.screener, case.claimed_at = None, None
        return record(case, user, user, None, Stage.AWAITING_SCREENING, "Returned to the queue.")


def hand_over(case, to_user, by, stage, note):
    if stage == Stage.WITH_PATHOLOGIST:
        previous, case.pathologist = case.pathologist, to_user
    else:
        previous, case.screener, case.claimed_at = case.screener, to_user, timezone.now()
    return record(case, by, previous, to_user, stage, note)


def record(case, by, from_user, to_user, stage, note):
    case.stage = stage
    case.save()  # django-auditlog logs the change of stage and holder
    HandOver.objects.create(case=case, stage=stage, from_user=from_user, to_user=to_user,
                            by=by, note=note)
    return case


def already_taken(case):
    holder = case.pathologist if case.stage == Stage.WITH_PATHOLOGIST else case.screener
    who = f" by {holder}" if holder else ""
    return (f"Case {case.specimen} was taken{who} already "
            f"({case.get_stage_display().lower()}); reload the queue.")
