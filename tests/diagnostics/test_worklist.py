from importlib import import_module

import pytest

from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from diagnostics.models import SpecimenSignOff
from diagnostics.triage import TRIAGE_RULE, update_triage_score
from imaging.models import Specimen

WORKLIST = reverse("diagnostics:worklist")


def abnormal(p):
    return {"Dyskeratotic": p, "Parabasal": 1 - p}


def scored_specimen(patient, accession, abnormal_probability, make_result, flagged=0):
    specimen = Specimen.objects.create(patient=patient, accession_number=accession,
                                       collected_on="2026-11-01")
    make_result(specimen, abnormal(abnormal_probability))
    for _ in range(flagged):
        make_result(specimen, abnormal(abnormal_probability), refer=True)
    update_triage_score(specimen)
    return specimen


def accessions(response):
    return [specimen.accession_number for specimen in response.context["page"].object_list]


def test_most_suspicious_specimens_come_first(client_for, doctor, patient, make_result):
    for accession, probability in [("LOW", 0.1), ("HIGH", 0.9), ("MID", 0.5)]:
        scored_specimen(patient, accession, probability, make_result)
    response = client_for(doctor).get(WORKLIST)
    assert accessions(response) == ["HIGH", "MID", "LOW"]
    assert TRIAGE_RULE in response.content.decode()


def test_it_shows_cell_and_flagged_counts(client_for, doctor, patient, make_result):
    scored_specimen(patient, "ACC-9", 0.7, make_result, flagged=2)
    [row] = client_for(doctor).get(WORKLIST).context["page"].object_list
    assert (row.cell_count, row.flagged_count) == (3, 2)


def test_signed_off_and_unclassified_specimens_are_not_listed(
        client_for, doctor, patient, specimen, make_result):
    signed = scored_specimen(patient, "SIGNED", 0.9, make_result)
    SpecimenSignOff.objects.create(specimen=signed, interpretation="nilm", signed_by=doctor)
    scored_specimen(patient, "OPEN", 0.2, make_result)
    make_result(specimen, {}, status="queued")  # ACC-1: nothing classified yet
    assert accessions(client_for(doctor).get(WORKLIST)) == ["OPEN"]


def test_a_specimen_leaves_the_worklist_when_signed_off_and_stays_off(
        client_for, doctor, patient, make_result):
    specimen = scored_specimen(patient, "ACC-9", 0.9, make_result)
    assert accessions(client_for(doctor).get(WORKLIST)) == ["ACC-9"]
    SpecimenSignOff.objects.create(specimen=specimen, interpretation="nilm", signed_by=doctor)
    assert accessions(client_for(doctor).get(WORKLIST)) == []
    make_result(specimen, abnormal(0.8))  # a late cell classified after the sign-off
    update_triage_score(specimen)
    assert accessions(client_for(doctor).get(WORKLIST)) == []


def test_the_migration_marks_existing_specimens_awaiting_sign_off(
        doctor, patient, specimen, make_result):
    open_specimen = scored_specimen(patient, "OPEN", 0.5, make_result)
    signed = scored_specimen(patient, "SIGNED", 0.5, make_result)
    SpecimenSignOff.objects.create(specimen=signed, interpretation="nilm", signed_by=doctor)
    make_result(specimen, {}, status="queued")
    Specimen.objects.update(awaiting_sign_off=False)  # as before the field existed

    fill_migration = import_module("diagnostics.migrations.0006_fill_awaiting_sign_off")
    fill_migration.mark_specimens_awaiting_sign_off(django_apps, None)

    awaiting = set(Specimen.objects.filter(awaiting_sign_off=True))
    assert awaiting == {open_specimen}
    assert signed not in awaiting and specimen not in awaiting


def test_other_doctors_patients_are_not_listed(client_for, other_doctor, patient, make_result):
    scored_specimen(patient, "ACC-9", 0.9, make_result)
    assert accessions(client_for(other_doctor).get(WORKLIST)) == []


def test_lab_staff_have_no_review_worklist(client_for, lab_staff):
    assert client_for(lab_staff).get(WORKLIST).status_code == 403


def test_query_count_does_not_grow_with_rows(
        client_for, doctor, patient, make_result, django_assert_max_num_queries):
    client = client_for(doctor)
    scored_specimen(patient, "FIRST", 0.5, make_result, flagged=1)
    with CaptureQueriesContext(connection) as one_row:
        client.get(WORKLIST)
    for number in range(10):
        scored_specimen(patient, f"MORE-{number}", number / 10, make_result, flagged=2)
    with django_assert_max_num_queries(len(one_row)):
        response = client.get(WORKLIST)
    assert len(accessions(response)) == 11


def test_pages_are_counted_and_a_page_past_the_end_is_not_found_as_in_the_api(
        client_for, doctor, patient, make_result, monkeypatch):
    monkeypatch.setattr("diagnostics.views.ROWS_PER_PAGE", 2)
    for number in range(5):
        scored_specimen(patient, f"ACC-{number}", number / 10, make_result)
    client = client_for(doctor)
    second = client.get(WORKLIST, {"page": 2})
    assert second.context["page"].paginator.num_pages == 3
    assert accessions(second) == ["ACC-2", "ACC-1"]
    assert accessions(client.get(WORKLIST, {"page": 3})) == ["ACC-0"]
    assert client.get(WORKLIST, {"page": 9}).status_code == 404


@pytest.mark.parametrize("number", ["4611686018427387904", "0", "-1", "abc", "1e3"])
def test_a_huge_or_junk_page_number_is_not_found_rather_than_a_server_error(
        client_for, doctor, patient, make_result, number):
    scored_specimen(patient, "ACC-1", 0.5, make_result)
    assert client_for(doctor).get(WORKLIST, {"page": number}).status_code == 404
