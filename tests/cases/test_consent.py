"""No images of a patient who has not consented, unless the lab does not require consent."""
from django.urls import reverse

from imaging.models import ImageAsset


def upload_page(client, case, files):
    return client.post(reverse("imaging:upload", args=[case.specimen.pk]), {"files": files},
                       follow=True)


def test_the_page_refuses_images_without_consent(client_for, accessioned, lab, lab_staff,
                                                 sample_upload):
    case = accessioned(lab, consent=False)
    page = upload_page(client_for(lab_staff), case, sample_upload(1)).content.decode()
    assert "has not consented" in page and "Record the patient" in page
    assert not ImageAsset.objects.exists()


def test_the_api_refuses_images_without_consent(api_as, accessioned, lab, lab_staff,
                                                sample_upload):
    case = accessioned(lab, consent=False)
    response = api_as(lab_staff).post(
        reverse("api:specimen_images", args=[case.specimen.pk]), {"files": sample_upload(1)},
        format="multipart")
    assert response.status_code == 409
    assert "has not consented" in response.json()["detail"]
    assert not ImageAsset.objects.exists()


def test_a_lab_that_does_not_require_consent_takes_the_images(
        client_for, accessioned, lab, lab_staff, sample_upload, django_capture_on_commit_callbacks):
    lab.consent_required_for_screening = False
    lab.save()
    case = accessioned(lab, consent=False)
    upload_page(client_for(lab_staff), case, sample_upload(1))
    assert ImageAsset.objects.filter(specimen=case.specimen).count() == 1


def test_a_specimen_without_a_case_needs_consent(client_for, specimen, lab_staff, sample_upload):
    specimen.patient.consent_given = False
    specimen.patient.save()
    page = client_for(lab_staff).post(reverse("imaging:upload", args=[specimen.pk]),
                                      {"files": sample_upload(1)}, follow=True)
    assert "has not consented" in page.content.decode()
