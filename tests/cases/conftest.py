import datetime

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.roles import CYTOTECHNOLOGIST
from cases.accessioning import accession
from cases.models import Requisition
from imaging.models import Specimen
from patients.models import Patient
from tests.conftest import make_user

NORMAL = {"Superficial-Intermediate": 0.9, "Parabasal": 0.1}
ABNORMAL = {"Koilocytotic": 0.8, "Parabasal": 0.2}


@pytest.fixture
def api_as(db):
    """An API client sending the user's token (throttle counts start from zero)."""
    cache.clear()

    def client_of(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0]}")
        return client
    return client_of


@pytest.fixture
def accessioned(lab_staff, clinician):
    """A new patient's specimen accessioned into ``lab``, as the accessioning page does."""
    def make(lab, number=1, consent=True, triage_score=None, collected_on="2026-11-01",
             ordering_clinician=None):
        patient = Patient.objects.create(
            mrn=f"CASE-{lab.pk}-{number}", full_name=f"Case Patient {number}",
            date_of_birth="1980-01-02", consent_given=consent, created_by=lab_staff)
        specimen = Specimen(patient=patient, accession_number=f"C{lab.pk}-{number}",
                            collected_on=collected_on)
        requisition = Requisition(ordering_clinician=ordering_clinician or clinician,
                                  specimen_type="liquid_based")
        case = accession(specimen, requisition, lab, lab_staff)
        if triage_score is not None:
            Specimen.objects.filter(pk=specimen.pk).update(triage_score=triage_score)
        return case
    return make


@pytest.fixture
def case(accessioned, lab):
    return accessioned(lab)


@pytest.fixture
def pathologist(doctor, lab):
    """The ``doctor`` fixture (a pathologist), a member of ``lab``."""
    lab.members.add(doctor)
    return doctor


@pytest.fixture
def other_cytotechnologist(lab):
    user = make_user("ct_north_2", CYTOTECHNOLOGIST)
    lab.members.add(user)
    return user


@pytest.fixture
def south_cytotechnologist(other_lab):
    user = make_user("ct_south", CYTOTECHNOLOGIST)
    other_lab.members.add(user)
    return user


def today_plus(days):
    return datetime.date.today() + datetime.timedelta(days=days)


def role(name):
    return Group.objects.get(name=name)
