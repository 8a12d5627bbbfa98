"""Images, thumbnails and heat maps: small previews made once, and content-addressed URLs the
browser keeps for a year (privately), so a second visit downloads almost nothing."""
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from imaging.models import ImageAsset
from imaging.thumbnails import THUMBNAIL_PIXELS

IMMUTABLE = "private, max-age=31536000, immutable"


def upload(client, specimen, files):
    return client.post(reverse("imaging:upload", args=[specimen.pk]), {"files": files})


def body(response):
    return b"".join(response.streaming_content)


def test_a_thumbnail_is_stored_at_upload_small_and_within_its_size(
        client_for, lab_staff, specimen, sample_upload):
    upload(client_for(lab_staff), specimen, sample_upload(1))
    image = ImageAsset.objects.get()
    assert image.thumbnail and default_storage.exists(image.thumbnail.name)
    with image.thumbnail.open("rb") as stored:
        data = stored.read()
    assert len(data) < image.size_bytes / 10
    with Image.open(image.thumbnail.path) as thumbnail:
        assert thumbnail.format == "WEBP" and max(thumbnail.size) <= THUMBNAIL_PIXELS


def test_files_at_their_current_url_are_kept_a_year_privately(
        client_for, lab_staff, doctor, specimen, sample_upload):
    upload(client_for(lab_staff), specimen, sample_upload(1))
    image = ImageAsset.objects.get()
    result = image.results.get()
    result.heatmap.save("overlay.png", ContentFile(b"\x89PNG overlay"))
    client = client_for(doctor)
    for url, content_type in ((image.file_url(), "image/png"),
                              (image.thumbnail_url(), "image/webp"),
                              (result.heatmap_url(), "image/png")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == IMMUTABLE, url
        assert response["Content-Type"] == content_type, url


def test_a_url_naming_other_content_is_served_but_not_kept(
        client_for, lab_staff, doctor, specimen, sample_upload):
    upload(client_for(lab_staff), specimen, sample_upload(1))
    image = ImageAsset.objects.get()
    client = client_for(doctor)
    for url in (reverse("imaging:image_file", args=[image.pk]),
                reverse("imaging:thumbnail_file", args=[image.pk]) + "?v=0123456789abcdef"):
        response = client.get(url)
        assert response.status_code == 200 and "immutable" not in response["Cache-Control"]


def test_a_changed_file_gets_a_new_url(client_for, lab_staff, specimen, sample_upload):
    upload(client_for(lab_staff), specimen, sample_upload(2))
    first, second = ImageAsset.objects.order_by("pk")
    assert first.file_url() != second.file_url()
    assert first.thumbnail_url() != second.thumbnail_url()


def test_an_image_stored_before_thumbnails_gets_one_on_first_request_and_keeps_it(
        client_for, lab_staff, doctor, specimen, sample_upload):
    upload(client_for(lab_staff), specimen, sample_upload(1))
    image = ImageAsset.objects.get()
    image.thumbnail.delete(save=True)  # as images uploaded before thumbnails existed
    client = client_for(doctor)
    first = body(client.get(image.thumbnail_url()))
    image.refresh_from_db()
    stored_name = image.thumbnail.name
    assert stored_name and first[:4] == b"RIFF"
    assert body(client.get(image.thumbnail_url())) == first
    image.refresh_from_db()
    assert image.thumbnail.name == stored_name  # made once, not per request


def test_thumbnails_are_only_for_those_who_may_see_the_image(
        client_for, lab_staff, other_doctor, specimen, sample_upload):
    upload(client_for(lab_staff), specimen, sample_upload(1))
    image = ImageAsset.objects.get()
    assert client_for(other_doctor).get(image.thumbnail_url()).status_code == 404


def test_erasing_the_patient_removes_the_thumbnails_too(
        client_for, lab_staff, administrator, specimen, sample_upload,
        django_capture_on_commit_callbacks):
    from patients.gdpr import erase_patient

    upload(client_for(lab_staff), specimen, sample_upload(2))
    thumbnails = [image.thumbnail.name for image in ImageAsset.objects.all()]
    with django_capture_on_commit_callbacks(execute=True):
        erase_patient(specimen.patient, administrator)
    assert not any(default_storage.exists(name) for name in thumbnails)
