import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.access import assigned_doctors
from accounts.roles import LAB_STAFF, PATHOLOGIST
from imaging.models import Specimen
from patients.models import Patient
from tests.conftest import make_user


def test_administrator_changes_group_membership_in_admin(client_for, administrator, lab_staff):
    client = client_for(administrator)
    url = reverse("admin:auth_user_change", args=[lab_staff.pk])
    form = client.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None}
    data.update({
        "username": lab_staff.username,
        "groups": [Group.objects.get(name=PATHOLOGIST).pk],
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "is_active": "on",
        "profile-TOTAL_FORMS": "0", "profile-INITIAL_FORMS": "0",  # the qualifications inline
    })
    data.pop("last_login", None)
    data.pop("user_permissions", None)
    data.pop("password", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(lab_staff.groups.values_list("name", flat=True)) == [PATHOLOGIST]
    assert LAB_STAFF not in lab_staff.groups.values_list("name", flat=True)


def test_administrator_assigns_doctors_to_a_patient(client_for, administrator, patient, doctor, other_doctor):
    client = client_for(administrator)
    response = client.post(reverse("admin:patients_patient_change", args=[patient.pk]), {
        "mrn": patient.mrn, "full_name": patient.full_name, "date_of_birth": "1980-01-02",
        "consent_given": "on", "assigned_doctors": [other_doctor.pk],
    })
    assert response.status_code == 302
    assert list(assigned_doctors(patient)) == [other_doctor]
    assert client_for(other_doctor).get(patient.get_absolute_url()).status_code == 200


def test_lab_staff_cannot_open_admin(client_for, lab_staff):
    response = client_for(lab_staff).get(reverse("admin:index"))
    assert response.status_code == 302


def test_administrator_cannot_make_anyone_superuser(client_for, administrator):
    client = client_for(administrator)
    url = reverse("admin:auth_user_change", args=[administrator.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="is_superuser"' not in page.content.decode()
    client.post(url, {
        "username": administrator.username, "is_superuser": "on", "is_staff": "on",
        "is_active": "on", "groups": [g.pk for g in administrator.groups.all()],
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
    })
    administrator.refresh_from_db()
    assert not administrator.is_superuser


def test_administrator_cannot_change_a_superusers_password(client_for, administrator, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="root-password-123")
    url = reverse("admin:auth_user_password_change", args=[root.pk])
    client = client_for(administrator)
    client.post(url, {"password1": "taken-over-123!", "password2": "taken-over-123!",
                      "usable_password": "true"})
    root.refresh_from_db()
    assert root.check_password("root-password-123")


ADMIN_LISTS = ["admin:patients_patient_changelist", "admin:imaging_specimen_changelist",
               "admin:imaging_imageasset_changelist", "admin:diagnostics_cellresult_changelist"]


@pytest.fixture
def other_patients_records(db, lab_staff, make_result):
    """A patient no doctor is assigned to, with a specimen, an image and a result."""
    patient = Patient.objects.create(mrn="MRN-HIDDEN", full_name="Hidden Patient",
                                     date_of_birth="1970-05-06", created_by=lab_staff)
    specimen = Specimen.objects.create(patient=patient, accession_number="ACC-HIDDEN",
                                       collected_on="2026-11-02", created_by=lab_staff)
    return make_result(specimen, {"Parabasal": 1.0})


@pytest.mark.parametrize("role", [PATHOLOGIST, LAB_STAFF])
@pytest.mark.parametrize("changelist", ADMIN_LISTS)
def test_staff_who_are_not_administrators_see_nothing_in_admin(client_for, other_patients_records,
                                                               role, changelist):
    user = make_user(f"staff_{role.replace(' ', '_').lower()}", role)
    user.is_staff = True
    user.save()
    response = client_for(user).get(reverse(changelist), follow=True)
    assert response.status_code == 403
    content = response.content.decode()
    for secret in ("MRN-HIDDEN", "Hidden Patient", "ACC-HIDDEN", "cell1.png"):
        assert secret not in content


def test_administrators_still_list_every_patient_in_admin(client_for, administrator,
                                                          other_patients_records):
    response = client_for(administrator).get(reverse("admin:imaging_specimen_changelist"))
    assert response.status_code == 200
    assert "ACC-HIDDEN" in response.content.decode()
