from django.contrib.staticfiles import finders
from django.urls import reverse

from diagnostics.models import CellReview, SpecimenSignOff

NORMAL = {"Superficial-Intermediate": 0.9, "Dyskeratotic": 0.1}
UNSURE = {"Superficial-Intermediate": 0.45, "Dyskeratotic": 0.55}


def report_url(specimen):
    return reverse("diagnostics:report", args=[specimen.pk])


def test_report_shows_patient_specimen_counts_flags_overrides_and_sign_offs(
    client_for, doctor, specimen, make_result
):
    make_result(specimen, NORMAL)
    make_result(specimen, NORMAL)
    flagged = make_result(specimen, UNSURE, refer=True)
    CellReview.objects.create(result=flagged, reviewer=doctor,
                              reviewed_class="Superficial-Intermediate", accepted=False)
    SpecimenSignOff.objects.create(specimen=specimen, signed_by=doctor, interpretation="nilm")
    SpecimenSignOff.objects.create(specimen=specimen, signed_by=doctor, version=2,
                                   interpretation="asc_us", amendment_reason="inflammation")
    response = client_for(doctor).get(report_url(specimen))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Test Patient" in page and "MRN-1" in page and "ACC-1" in page
    assert "Model version test-model" in page
    assert "<td>Superficial-Intermediate</td><td>2</td>" in page
    assert "<td>Dyskeratotic</td><td>1</td>" in page
    assert "flagged “refer to cytologist” (1)" in page and flagged.image.original_name in page
    assert "Reviewer overrides (1)" in page
    assert "(ASC-US)" in page and "inflammation" in page and "(NILM)" in page
    assert "amendment, version 2" in page


def test_report_has_a_print_button_and_print_stylesheet(client_for, doctor, specimen):
    page = client_for(doctor).get(report_url(specimen)).content.decode()
    assert 'data-print-page' in page
    assert "Not signed off: this report is preliminary." in page
    assert "@media print" in open(finders.find("css/app.css")).read()


def test_second_doctor_cannot_open_the_report(client_for, other_doctor, specimen):
    assert client_for(other_doctor).get(report_url(specimen)).status_code == 404


def test_lab_staff_can_print_the_report(client_for, lab_staff, specimen):
    assert client_for(lab_staff).get(report_url(specimen)).status_code == 200
