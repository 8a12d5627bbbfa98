"""A query compiled once answers as the queryset built for each call would."""
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.access import CASE_AND_REQUISITION, PATIENT_BY_KEY, specimen_with
from accounts.backends import USER_BY_KEY
from cases.models import Case
from celinsight.compiled_queries import CompiledQuery
from imaging.models import Specimen
from patients.models import Patient

pytestmark = pytest.mark.django_db


def test_the_specimen_with_its_case_and_requisition_equals_the_built_query(specimen, lab):
    Case.objects.create(specimen=specimen, lab=lab)
    other = Specimen.objects.create(patient=specimen.patient, accession_number="S-2",
                                    collected_on="2026-11-02", created_by=specimen.created_by)
    query = specimen_with(CASE_AND_REQUISITION)
    for key in (specimen.pk, other.pk, specimen.pk):
        built = (Specimen.objects.select_related("patient", *CASE_AND_REQUISITION)
                 .filter(pk=key).first())
        compiled = query.first(key)
        assert compiled == built
        assert compiled.patient.full_name == built.patient.full_name
        assert compiled.__dict__.keys() == built.__dict__.keys()
        assert compiled._state.fields_cache.keys() == built._state.fields_cache.keys()
        assert compiled._state.db == built._state.db and not compiled._state.adding
    assert query.first(specimen.pk).case.lab == lab
    assert query.first(-5) is None


def test_the_joined_rows_arrive_in_the_same_query(specimen):
    specimen_with(CASE_AND_REQUISITION).first(specimen.pk)
    with CaptureQueriesContext(connection) as captured:
        found = specimen_with(CASE_AND_REQUISITION).first(specimen.pk)
        found.patient.full_name
    assert len(captured.captured_queries) == 1
    assert str(specimen.pk) in captured.captured_queries[0]["sql"]


def test_patients_and_users_by_key(patient, doctor):
    assert PATIENT_BY_KEY.first(patient.pk) == patient
    assert PATIENT_BY_KEY.first(str(patient.pk)) == patient  # as a session or URL gives it
    assert USER_BY_KEY.first(doctor.pk) == doctor
    assert USER_BY_KEY(doctor.pk + 1000) == []


def test_a_stand_in_missing_from_the_parameters_is_refused(patient):
    clock_read = CompiledQuery(lambda key: Patient.objects.filter(mrn="fixed"), -1)
    with pytest.raises(ValueError, match="stand-ins"):
        clock_read(patient.pk)


def test_two_values_each_in_its_place(patient, doctor):
    query = CompiledQuery(lambda key, mrn: Patient.objects.filter(pk=key, mrn=mrn), -1,
                          "stand-in mrn")
    assert query(patient.pk, patient.mrn) == [patient]
    assert query(patient.pk, "not theirs") == []
    assert User.objects.count() >= 1
