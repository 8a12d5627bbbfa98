"""The patients list's search box: by name, MRN or a specimen's accession number, and only
among the patients the user may open (accounts.access.patients_visible_to)."""
import pytest

from imaging.models import Specimen
from patients.models import Patient


@pytest.fixture
def unassigned_patient(lab_staff):
    patient = Patient.objects.create(mrn="MRN-OTHER", full_name="Other Person",
                                     date_of_birth="1975-05-06", consent_given=True,
                                     created_by=lab_staff)
    Specimen.objects.create(patient=patient, accession_number="ACC-OTHER-9",
                            collected_on="2026-11-02", created_by=lab_staff)
    return patient


def search(client, query):
    return client.get("/patients/", {"q": query}).content.decode()


@pytest.mark.parametrize("query", ["test pat", "mrn-1", "ACC-1"])
def test_search_finds_the_patient_by_name_mrn_or_accession_number(client_for, doctor, specimen,
                                                                  query):
    page = search(client_for(doctor), query)
    assert specimen.patient.get_absolute_url() in page
    assert "No patient matches" not in page


def test_a_patient_with_several_matching_specimens_is_listed_once(client_for, doctor, specimen,
                                                                  lab_staff):
    Specimen.objects.create(patient=specimen.patient, accession_number="ACC-12",
                            collected_on="2026-11-03", created_by=lab_staff)
    page = search(client_for(doctor), "ACC-1")
    assert page.count(f'href="{specimen.patient.get_absolute_url()}"') == 2  # MRN and name links


@pytest.mark.parametrize("query", ["Other Person", "MRN-OTHER", "ACC-OTHER-9"])
def test_search_does_not_find_another_doctors_patients(client_for, doctor, patient,
                                                       unassigned_patient, query):
    page = search(client_for(doctor), query)
    assert unassigned_patient.get_absolute_url() not in page
    assert "No patient matches" in page


def test_lab_staff_find_any_patient_by_accession_number(client_for, lab_staff,
                                                        unassigned_patient):
    page = search(client_for(lab_staff), "acc-other")
    assert unassigned_patient.get_absolute_url() in page
