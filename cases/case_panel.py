"""What the specimen page's case panel shows the user (jinja2/cases/_case_panel.html)."""
from cases import queue
from cases.forms import AssignForm
from cases.models import Lab
from celinsight.compiled_queries import CompiledQuery

LAB_MEMBERSHIP = CompiledQuery(lambda lab, user: Lab.members.through.objects.filter(
    lab=lab, user=user).values_list("pk")[:1], -1, -2)


def case_panel(specimen, user):
    """The case, its requisition and the actions open to the user (a fixed number of
    queries); {} for a specimen without a case."""
    case = getattr(specimen, "case", None)
    if case is None:
        return {}
    stage = case.Stage
    awaiting = case.stage == stage.AWAITING_SCREENING
    shown = {"case": case, "requisition": getattr(specimen, "requisition", None),
             "findings": getattr(case, "findings", None)}
    if not LAB_MEMBERSHIP.rows(case.lab_id, user.pk):  # may read it, not work on it
        return shown
    return {
        **shown,
        "may_claim": (awaiting and user.has_perm(queue.SCREEN_CASE)) or (
            case.stage == stage.AWAITING_PATHOLOGIST and user.has_perm(queue.SIGN_OFF)),
        "may_screen": case.stage == stage.IN_SCREENING and case.screener_id == user.pk,
        "assign_form": AssignForm(screeners=queue.screeners_of(case.lab))
        if queue.may_assign(user, case) and case.stage in (stage.AWAITING_SCREENING,
                                                           stage.IN_SCREENING) else None,
        "may_correct": user.has_perm("cases.add_correction"),
        # What was uploaded (cells and fields), not the cells the worker cut from fields.
        "deletable_images": specimen.images.filter(source_field__isnull=True)
        if user.has_perm("imaging.delete_imageasset") and not case.screening_started else (),
    }
