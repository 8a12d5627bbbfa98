"""A query compiled once answers as the queryset built for each call would."""
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from accounts.access import CASE_AND_REQUISITION, PATIENT_BY_KEY, specimen_with
from accounts.backends import USER_BY_KEY
from cases.models import Case
from celinsight.compiled_queries import (CompiledQuery, CompiledSlices, ForKeys, lists_by,
                                         rows_by_key)
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


def make_specimens(patient, count):
    return [Specimen.objects.create(patient=patient, accession_number=f"R-{number}",
                                    collected_on="2026-11-01") for number in range(count)]


def test_rows_by_key_reads_each_row_with_the_lists_joins_and_prefetches(patient, lab):
    specimens = make_specimens(patient, 3)
    for specimen in specimens:
        Case.objects.create(specimen=specimen, lab=lab)
    cases = Case.objects.select_related("specimen__patient", "lab").prefetch_related(
        "specimen__images").filter(lab=lab)
    keys = [case.pk for case in cases]
    with CaptureQueriesContext(connection) as captured:
        rows = rows_by_key(cases, keys)
        assert [rows[key].specimen.patient.full_name for key in keys] == [patient.full_name] * 3
        assert [list(rows[key].specimen.images.all()) for key in keys] == [[], [], []]
        assert rows[keys[0]].lab == lab
    assert len(captured.captured_queries) == 2  # the joined rows, then the prefetch
    assert rows == cases.in_bulk(keys)


def test_rows_by_key_answers_for_each_number_of_keys_and_leaves_out_rows_gone(patient):
    specimens = make_specimens(patient, 4)
    keys = [specimen.pk for specimen in specimens]
    listed = Specimen.objects.select_related("patient").filter(patient=patient)
    assert rows_by_key(listed, keys[:2]).keys() == set(keys[:2])
    assert rows_by_key(listed, keys[2:]).keys() == set(keys[2:])
    specimens[0].delete()
    assert rows_by_key(listed, keys[:2]).keys() == {keys[1]}
    assert rows_by_key(listed, []) == {}


def test_rows_by_key_reads_a_list_with_annotations_through_its_filter(patient):
    specimens = make_specimens(patient, 2)
    keys = [specimen.pk for specimen in specimens]
    annotated = Specimen.objects.annotate(images_count=Count("images")).filter(pk=keys[0])
    assert rows_by_key(annotated, keys).keys() == {keys[0]}  # in_bulk: the filter holds
    assert rows_by_key(annotated, keys)[keys[0]].images_count == 0


def test_rows_of_an_aggregate_for_each_number_of_keys(patient, doctor):
    specimens = make_specimens(patient, 3)
    counts = ForKeys(lambda keys: Specimen.objects.filter(pk__in=keys, patient=patient)
                     .values_list("patient").annotate(Count("pk")).order_by())
    assert counts.rows([specimens[0].pk]) == [(patient.pk, 1)]
    assert counts.rows([specimen.pk for specimen in specimens]) == [(patient.pk, 3)]
    assert counts.rows([-7, -8]) == []


def test_lists_by_hands_rows_to_their_parents_in_order(patient):
    specimens = make_specimens(patient, 3)
    grouped = lists_by(reversed(specimens), "patient_id")
    assert grouped == {patient.pk: specimens[::-1]}


def test_slices_of_a_key_compiled_once_each_as_the_queryset_slices(patient):
    specimens = make_specimens(patient, 5)
    pages = CompiledSlices(lambda key: Specimen.objects.filter(patient=key).order_by("pk"), most=2)
    sliced = pages.of(patient.pk)
    assert sliced[0:2] == specimens[0:2] and sliced[2:4] == specimens[2:4]
    assert sliced[4:6] == specimens[4:]  # past the two compiled: built as a queryset
    assert sliced[0:2] == specimens[0:2]
    assert len(pages.by_bounds) == 2 and sliced.count() == 5
    assert sliced[0:0] == []  # an empty first page
