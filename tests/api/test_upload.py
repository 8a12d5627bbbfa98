from django.urls import reverse

from imaging.models import ImageAsset


def upload_url(specimen):
    return reverse("api:specimen_images", args=[specimen.pk])


def test_a_broken_file_is_reported_by_name_and_the_others_stored(
        api_as, lab_staff, specimen, sample_upload, truncated_png):
    files = [*sample_upload(2), truncated_png]
    response = api_as(lab_staff).post(upload_url(specimen), {"files": files}, format="multipart")
    assert response.status_code == 201, response.json()
    report = response.json()
    assert report["stored_count"] == 2
    outcomes = {row["file"]: row["outcome"] for row in report["files"]}
    assert outcomes == {files[0].name: "stored", files[1].name: "stored",
                        "broken_cell.png": "rejected"}
    [rejection] = report["rejections"]
    assert rejection["file"] == "broken_cell.png" and rejection["reason"]
    assert sorted(ImageAsset.objects.values_list("original_name", flat=True)) == sorted(
        f.name for f in files[:2])


def test_an_image_already_in_the_specimen_is_reported_as_a_duplicate(
        api_as, lab_staff, specimen, sample_upload):
    client = api_as(lab_staff)
    client.post(upload_url(specimen), {"files": sample_upload(1)}, format="multipart")
    again = client.post(upload_url(specimen), {"files": sample_upload(1)}, format="multipart").json()
    assert again["stored_count"] == 0
    assert [row["outcome"] for row in again["files"]] == ["duplicate"]


def test_an_upload_without_files_is_refused(api_as, lab_staff, specimen):
    response = api_as(lab_staff).post(upload_url(specimen), {}, format="multipart")
    assert response.status_code == 400
    assert "files" in response.json()


def test_doctors_cannot_upload(api_as, doctor, specimen, sample_upload):
    response = api_as(doctor).post(upload_url(specimen), {"files": sample_upload(1)},
                                   format="multipart")
    assert response.status_code == 403
    assert not ImageAsset.objects.exists()


def test_a_text_field_instead_of_a_file_is_refused_with_the_reason(api_as, lab_staff, specimen):
    response = api_as(lab_staff).post(upload_url(specimen), {"files": "not a file"},
                                      format="multipart")
    assert response.status_code == 400
    assert "not a file" in str(response.json()["files"])
    assert not ImageAsset.objects.exists()


def test_a_json_upload_is_refused_with_the_reason(api_as, lab_staff, specimen):
    response = api_as(lab_staff).post(upload_url(specimen), {"files": ["abc"]}, format="json")
    assert response.status_code == 400
    assert response.json()["files"]
    assert not ImageAsset.objects.exists()


def test_a_malformed_multipart_body_is_refused(api_as, lab_staff, specimen):
    response = api_as(lab_staff).generic(
        "POST", upload_url(specimen), b"--nonsense\r\n\r\n",
        content_type="multipart/form-data; boundary=")
    assert response.status_code == 400
    assert "Multipart form parse error" in response.json()["detail"]


def test_the_uploader_says_what_the_images_are_and_crops_say_where_they_were_cut(
        api_as, lab_staff, specimen):
    from diagnostics import tasks
    from imaging.models import FieldOfView
    from tests.imaging.field_images import png_upload, synthetic_field

    client = api_as(lab_staff)
    small_field = png_upload("small-field.png", synthetic_field(size=(400, 300)))
    report = client.post(upload_url(specimen), {"files": [small_field], "content": "field"},
                         format="multipart").json()
    assert report["content"] == "field" and report["stored_count"] == 1
    tasks.find_cells_in_fields(list(FieldOfView.objects.values_list("pk", flat=True)))
    images = client.get(upload_url(specimen)).json()["results"]
    field, *crops = images
    assert field["kind"] == "field" and field["source_image"] is None
    assert crops and all(crop["kind"] == "cell" and crop["source_image"] == field["id"]
                         and 0 <= crop["field_x"] < 400 for crop in crops)


def test_an_unknown_content_is_refused_with_the_choices(api_as, lab_staff, specimen,
                                                        sample_upload):
    response = api_as(lab_staff).post(upload_url(specimen),
                                      {"files": sample_upload(1), "content": "hologram"},
                                      format="multipart")
    assert response.status_code == 400 and "content" in response.json()
    assert not ImageAsset.objects.exists()
