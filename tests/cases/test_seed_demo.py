"""seed_demo: one user of each role, a demo lab, and demo cases waiting in its queue."""
from django.contrib.auth.models import User
from django.core.management import call_command

from accounts.roles import ALL_ROLES
from cases.models import Case, Lab


def test_seed_demo_creates_every_role_and_queued_cases(db, settings):
    settings.DEMO_MODE = True
    call_command("seed_demo")
    roles = set(User.objects.values_list("groups__name", flat=True))
    assert roles >= set(ALL_ROLES)
    lab = Lab.objects.get(name="Demo cytology lab")
    assert set(lab.members.values_list("username", flat=True)) == {
        "labstaff", "cytotech", "doctor", "doctor2"}
    cases = Case.objects.filter(lab=lab, stage=Case.Stage.AWAITING_SCREENING)
    assert cases.count() == 3
    assert {case.specimen.requisition.ordering_clinician.username for case in cases} == {
        "clinician", "clinician2"}
    clinician = User.objects.get(username="clinician")
    assert clinician.has_perm("patients.view_patient", cases.first().specimen.patient)
