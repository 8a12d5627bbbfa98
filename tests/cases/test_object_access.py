"""may_open_patient (one query) decides as guardian's grants and the labs' cases do."""
import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from accounts.access import VIEW_PATIENT, may_open_patient
from accounts.roles import CYTOTECHNOLOGIST, PATHOLOGIST
from cases.models import Case
from tests.conftest import make_user


def by_guardian_or_lab(user, patient):
    """The rules as they were asked before: guardian's check, then a case in the user's labs."""
    return user.has_perm(VIEW_PATIENT) or user.has_perm(VIEW_PATIENT, patient) or (
        user.has_perm("cases.screen_case")
        and Case.objects.filter(specimen__patient=patient, lab__members=user).exists())


@pytest.fixture
def people(lab, other_lab, clinician, other_clinician, lab_staff, administrator):
    granted_by_group = make_user("via_group", PATHOLOGIST)
    group = Group.objects.create(name="Tumour board")
    granted_by_group.groups.add(group)
    in_lab = make_user("ct_in_lab", CYTOTECHNOLOGIST)
    lab.members.add(in_lab)
    in_other_lab = make_user("ct_other_lab", CYTOTECHNOLOGIST)
    other_lab.members.add(in_other_lab)
    inactive = make_user("inactive", PATHOLOGIST)
    return {"group": group, "users": [clinician, other_clinician, lab_staff, administrator,
                                      granted_by_group, in_lab, in_other_lab, inactive]}


def test_one_query_decides_as_guardian_and_the_labs(people, accessioned, lab, clinician,
                                                    django_assert_num_queries):
    case = accessioned(lab)  # ordered by ``clinician``: granted to them
    patient = case.specimen.patient
    assign_perm(VIEW_PATIENT, people["group"], patient)
    inactive = people["users"][-1]
    assign_perm(VIEW_PATIENT, inactive, patient)
    inactive.is_active = False
    inactive.save()
    decisions = {}
    for user in people["users"]:
        decisions[user.username] = may_open_patient(user, patient)
        assert decisions[user.username] == by_guardian_or_lab(user, patient), user.username
    assert [decisions[name] for name in ("clin_ordering", "clin_other", "via_group",
                                         "ct_in_lab", "ct_other_lab", "inactive")] \
        == [True, False, True, True, False, False]
    user = people["users"][5]
    user.has_perm(VIEW_PATIENT)  # the user's permissions, read once a request
    with django_assert_num_queries(1):
        may_open_patient(user, patient)
