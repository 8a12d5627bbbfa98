"""Clinicians read their own patients' histories and signed reports, nothing else."""
from django.urls import reverse

from diagnostics.review import sign_off_specimen


def test_a_clinician_reads_their_patients_signed_report(client_for, case, clinician, doctor):
    sign_off_specimen(case.specimen, doctor, adequacy="satisfactory", interpretation="lsil")
    client = client_for(clinician)
    history = client.get(case.specimen.patient.get_absolute_url())
    assert history.status_code == 200
    assert "LSIL" in history.content.decode() or "Low-grade" in history.content.decode()
    report = client.get(reverse("diagnostics:report", args=[case.specimen.pk]))
    assert report.status_code == 200


def test_a_clinician_cannot_see_another_clinicians_patient(client_for, accessioned, lab,
                                                           clinician, other_clinician):
    theirs = accessioned(lab, 2, ordering_clinician=other_clinician)
    client = client_for(clinician)
    assert client.get(theirs.specimen.patient.get_absolute_url()).status_code == 404
    assert client.get(theirs.specimen.get_absolute_url()).status_code == 404
    listed = client.get(reverse("patients:list")).content.decode()
    assert theirs.specimen.patient.full_name not in listed


def test_a_clinician_is_read_only(client_for, case, clinician, sample_upload):
    client = client_for(clinician)
    specimen = case.specimen
    assert client.post(reverse("imaging:upload", args=[specimen.pk]),
                       {"files": sample_upload(1)}).status_code == 403
    assert client.get(reverse("diagnostics:review", args=[specimen.pk])).status_code == 403
    assert client.get(reverse("cases:queue")).status_code == 403
    assert client.post(reverse("cases:claim", args=[case.pk])).status_code == 403
    assert client.get(reverse("imaging:specimen_create",
                              args=[specimen.patient.pk])).status_code == 403


def test_a_clinician_reads_no_unsigned_report_and_no_cells(client_for, accessioned, lab, clinician,
                                                           doctor, make_result):
    from tests.cases.conftest import NORMAL
    signed, unsigned = accessioned(lab, 1), accessioned(lab, 2)
    result = make_result(signed.specimen, NORMAL)
    sign_off_specimen(signed.specimen, doctor, adequacy="satisfactory", interpretation="nilm")
    client = client_for(clinician)
    assert client.get(reverse("diagnostics:report", args=[unsigned.specimen.pk])).status_code == 404
    assert client.get(reverse("diagnostics:report", args=[signed.specimen.pk])).status_code == 200
    for url in (signed.specimen.get_absolute_url(),
                reverse("diagnostics:cell", args=[signed.specimen.pk, result.pk]),
                reverse("imaging:thumbnail_file", args=[result.image_id])):
        assert client.get(url).status_code == 404, url
    history = client.get(unsigned.specimen.patient.get_absolute_url()).content.decode()
    assert unsigned.specimen.accession_number not in history
    assert result.image.original_name not in client.get(
        signed.specimen.patient.get_absolute_url()).content.decode()
