from django.contrib.auth.models import Group

from accounts.roles import ALL_ROLES


def test_roles_are_groups_created_by_migration(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(ALL_ROLES)


def test_lab_staff_may_create_patients_and_doctors_may_not(lab_staff, doctor):
    assert lab_staff.has_perm("patients.add_patient")
    assert lab_staff.has_perm("imaging.add_imageasset")
    assert not doctor.has_perm("patients.add_patient")
    assert not doctor.has_perm("patients.view_patient")  # only object permissions


def test_administrators_manage_users(administrator):
    assert administrator.has_perm("auth.change_user")
    assert administrator.has_perm("auth.add_user")


def test_doctors_hold_no_global_view_of_clinical_records(doctor):
    # What a doctor sees is decided by object permissions (accounts/access.py) alone.
    for permission in ("imaging.view_specimen", "imaging.view_imageasset", "diagnostics.view_cellresult"):
        assert not doctor.has_perm(permission)
