"""Lab staff upload through the pages, a real Celery worker classifies, a doctor reads."""
import re

from auditlog.models import LogEntry
from django.urls import reverse

from diagnostics.models import CellResult

PASSWORD = "a-long-test-password-1"


def log_in(client, user):
    client.logout()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_upload_classify_review(client, lab_staff, doctor, other_doctor, sample_upload,
                                truncated_png, celery_worker, wait_for, lab, clinician):
    from accounts.access import assign_doctor

    lab.members.add(lab_staff)
    log_in(client, lab_staff)
    client.post(reverse("patients:create"), {
        "mrn": "E2E-1", "full_name": "Eve End-to-End", "date_of_birth": "1979-07-07",
        "consent_given": "on"})
    patient_url = client.get(reverse("patients:list")).content.decode()
    patient_id = int(re.search(r'href="/patients/(\d+)/"', patient_url).group(1))
    response = client.post(reverse("imaging:specimen_create", args=[patient_id]),
                           {"accession_number": "E2E-S1", "collected_on": "2026-11-20",
                            "lab": lab.pk, "ordering_clinician": clinician.pk,
                            "specimen_type": "conventional", "hpv_result": "not_done"})
    specimen_url = response["Location"]

    upload_url = specimen_url + "upload/"
    page = client.post(upload_url, {"files": sample_upload(3) + [truncated_png]}, follow=True)
    assert "broken_cell.png" in page.content.decode()

    wait_for(lambda: CellResult.objects.filter(status__in=["done", "failed"]).count() == 3)
    results = CellResult.objects.all()
    assert [r.status for r in results] == ["done"] * 3
    assert all(abs(sum(r.probabilities.values()) - 1) < 1e-6 for r in results)

    page = client.get(specimen_url).content.decode()
    assert "3 done · 0 failed · 0 running · 0 queued" in page
    assert "broken_cell.png" in page and "truncated or corrupt" in page
    for result in results:
        assert result.predicted_class in page

    audited_models = set(LogEntry.objects.values_list("content_type__model", flat=True))
    assert {"patient", "specimen", "imageasset", "cellresult"} <= audited_models

    from patients.models import Patient
    assign_doctor(Patient.objects.get(pk=patient_id), doctor)
    log_in(client, doctor)
    assert client.get(f"/patients/{patient_id}/").status_code == 200
    assert LogEntry.objects.filter(action=LogEntry.Action.ACCESS, actor=doctor).exists()
    log_in(client, other_doctor)
    assert client.get(f"/patients/{patient_id}/").status_code == 404
    assert client.get(specimen_url).status_code == 404
