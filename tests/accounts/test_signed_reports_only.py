"""accounts.access: clinicians read their patients' signed reports, not the material."""
import pytest
from django.http import Http404
from rest_framework.test import APIClient
from rest_framework.authtoken.models import Token

from accounts.access import (get_image_for_user, get_result_for_user, get_specimen_for_user,
                             get_specimen_material_for_user, reads_signed_reports_only,
                             share_patient_with, specimens_visible_to)
from diagnostics.review import sign_off_specimen
from imaging.models import Specimen

NORMAL = {"Superficial-Intermediate": 0.9, "Parabasal": 0.1}


def test_only_clinicians_read_signed_reports_only(doctor, lab_staff, cytotechnologist,
                                                  clinician, administrator):
    assert reads_signed_reports_only(clinician)
    for worker in (doctor, lab_staff, cytotechnologist, administrator):
        assert not reads_signed_reports_only(worker), worker


@pytest.fixture
def signed_and_unsigned(patient, specimen, doctor, clinician, make_result):
    share_patient_with(clinician, patient)
    result = make_result(specimen, NORMAL)
    sign_off_specimen(specimen, doctor, adequacy="satisfactory", interpretation="nilm")
    unsigned = Specimen.objects.create(patient=patient, accession_number="ACC-2",
                                       collected_on="2026-11-02")
    return specimen, unsigned, result


def test_a_clinician_gets_the_signed_specimen_and_nothing_else(signed_and_unsigned, clinician):
    signed, unsigned, result = signed_and_unsigned
    assert list(specimens_visible_to(clinician)) == [signed]
    assert get_specimen_for_user(clinician, signed.pk) == signed
    for load, record_id in [(get_specimen_for_user, unsigned.pk),
                            (get_specimen_material_for_user, signed.pk),
                            (get_image_for_user, result.image_id),
                            (get_result_for_user, result.pk)]:
        with pytest.raises(Http404):
            load(clinician, record_id)


def test_the_pathologist_still_gets_everything(signed_and_unsigned, doctor):
    signed, unsigned, result = signed_and_unsigned
    assert set(specimens_visible_to(doctor)) == {signed, unsigned}
    assert get_specimen_material_for_user(doctor, unsigned.pk) == unsigned
    assert get_result_for_user(doctor, result.pk) == result


def test_the_api_lists_a_clinicians_signed_specimens_only(signed_and_unsigned, clinician):
    signed, _, _ = signed_and_unsigned
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=clinician)[0]}")
    listed = client.get("/api/specimens/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["accession_number"] for row in rows] == [signed.accession_number]
