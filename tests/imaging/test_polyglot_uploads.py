"""A valid image with other data appended (a polyglot) is stored without the data: the file
served back is the image alone, and its sha256 is that of the stored bytes."""
import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageChops
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from imaging.models import ImageAsset, UploadBatch
from tests.conftest import zip_of

PAYLOAD = b"<script>alert('polyglot')</script>"


def encoded(image_format, **options):
    buffer = io.BytesIO()
    image = Image.new("RGB", (64, 48), "purple")
    image.putpixel((3, 4), (10, 200, 30))
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def appended_zip():
    return zip_of([("payload.html", PAYLOAD)]).read()


def upload_page(client, user, specimen, name, data):
    client.force_login(user)
    client.post(reverse("imaging:upload", args=[specimen.pk]),
                {"files": [SimpleUploadedFile(name, data)]})


def upload_api(client, user, specimen, name, data):
    client.force_login(user)  # to fetch the served file afterwards
    api = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0]}")
    response = api.post(reverse("api:specimen_images", args=[specimen.pk]),
                        {"files": [SimpleUploadedFile(name, data)]}, format="multipart")
    assert response.status_code == 201, response.content


def served(client, image):
    return b"".join(client.get(reverse("imaging:image_file", args=[image.pk])).streaming_content)


def pixels_equal(first, second):
    with Image.open(io.BytesIO(first)) as a, Image.open(io.BytesIO(second)) as b:
        return a.size == b.size and not ImageChops.difference(
            a.convert("RGB"), b.convert("RGB")).getbbox()


@pytest.mark.parametrize("upload", [upload_page, upload_api], ids=["page", "api"])
def test_a_png_with_an_appended_zip_is_stored_without_the_zip(
        upload, client, lab_staff, specimen):
    png = encoded("PNG")
    upload(client, lab_staff, specimen, "cell.png", png + appended_zip())
    image = ImageAsset.objects.get()
    data = served(client, image)
    assert data == png
    assert b"PK\x03\x04" not in data and PAYLOAD not in data
    assert image.sha256 == hashlib.sha256(data).hexdigest() and image.size_bytes == len(data)


def test_a_jpeg_with_trailing_data_is_stored_up_to_its_end_marker(client, lab_staff, specimen):
    jpeg = encoded("JPEG", quality=90, progressive=True)
    upload_page(client, lab_staff, specimen, "cell.jpg", jpeg + b"\xff\xd9" + PAYLOAD)
    data = served(client, ImageAsset.objects.get())
    assert data == jpeg  # not re-encoded: the pixels are the camera's, bit for bit
    assert PAYLOAD not in data


@pytest.mark.parametrize("image_format, name", [("BMP", "cell.bmp"), ("TIFF", "cell.tif")])
def test_bmp_and_tiff_are_stored_as_the_lossless_png_of_their_pixels(
        client, lab_staff, specimen, image_format, name):
    original = encoded(image_format)
    upload_page(client, lab_staff, specimen, name, original + PAYLOAD)
    image = ImageAsset.objects.get()
    data = served(client, image)
    assert image.image_format == "PNG" and data.startswith(b"\x89PNG")
    assert pixels_equal(data, original) and PAYLOAD not in data
    assert image.sha256 == hashlib.sha256(data).hexdigest()


def test_the_same_image_with_and_without_a_trailer_is_a_duplicate(client, lab_staff, specimen):
    png = encoded("PNG")
    upload_page(client, lab_staff, specimen, "clean.png", png)
    upload_page(client, lab_staff, specimen, "trailer.png", png + appended_zip())
    assert ImageAsset.objects.count() == 1
    assert UploadBatch.objects.filter(duplicates=["trailer.png"]).exists()
