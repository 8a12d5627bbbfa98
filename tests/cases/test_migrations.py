"""The data migrations: Doctor became Pathologist with its members; specimens from before
cases join a lab, at the stage they had reached."""
from importlib import import_module

from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission

from accounts.roles import ALL_ROLES, PATHOLOGIST
from cases.models import Case, Lab
from diagnostics.models import SpecimenSignOff
from imaging.models import Specimen

roles_migration = import_module("accounts.migrations.0006_screening_roles")
cases_migration = import_module("cases.migrations.0002_cases_for_existing_specimens")


def test_the_doctors_stay_in_their_group_renamed_pathologist(doctor):
    Group.objects.filter(name=PATHOLOGIST).update(name="Doctor")  # as before the migration
    roles_migration.grant_roles(Group, Permission)
    assert list(doctor.groups.values_list("name", flat=True)) == [PATHOLOGIST]
    assert set(Group.objects.values_list("name", flat=True)) >= set(ALL_ROLES)


def test_the_role_permissions(doctor, cytotechnologist, clinician, lab_staff):
    assert doctor.has_perm("cases.screen_case") and doctor.has_perm("cases.assign_case")
    assert cytotechnologist.has_perm("cases.screen_case")
    assert not cytotechnologist.has_perm("cases.assign_case")
    assert not cytotechnologist.has_perm("diagnostics.sign_off_specimen")
    assert not clinician.get_all_permissions()  # only object permissions
    assert lab_staff.has_perm("cases.add_correction")
    assert lab_staff.has_perm("imaging.delete_imageasset")


def test_existing_specimens_join_the_main_lab_at_their_stage(
        specimen, patient, doctor, lab_staff, make_result):
    awaiting = Specimen.objects.create(patient=patient, accession_number="OLD-2",
                                       collected_on="2026-10-01", awaiting_sign_off=True)
    signed = Specimen.objects.create(patient=patient, accession_number="OLD-3",
                                     collected_on="2026-10-02")
    SpecimenSignOff.objects.create(specimen=signed, interpretation="nilm", signed_by=doctor)
    cases_migration.open_cases(django_apps, None)
    lab = Lab.objects.get(name="Main lab")
    assert set(lab.members.all()) >= {doctor, lab_staff}
    stages = dict(Case.objects.values_list("specimen__accession_number", "stage"))
    assert stages == {"ACC-1": "awaiting_screening", "OLD-2": "awaiting_pathologist",
                      "OLD-3": "signed_out"}
