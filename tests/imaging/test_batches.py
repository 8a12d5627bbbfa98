from django.urls import reverse

from diagnostics.models import CellResult
from imaging.models import UploadBatch
from imaging.uploads import store_upload

BATCHES = reverse("diagnostics:batches")


def finish(results, status):
    CellResult.objects.filter(pk__in=[r.pk for r in results]).update(status=status)


def test_upload_links_the_stored_images_to_their_batch(specimen, lab_staff, sample_upload):
    batch = store_upload(specimen, lab_staff, sample_upload(3))
    assert batch.images.count() == 3


def test_batches_page_shows_counts_by_status(client_for, lab_staff, specimen, sample_upload):
    store_upload(specimen, lab_staff, sample_upload(4))
    results = list(CellResult.objects.order_by("pk"))
    finish(results[:2], "done")
    finish(results[2:3], "failed")
    page = client_for(lab_staff).get(BATCHES).content.decode()
    assert "2 done · 1 failed · 1 queued or running" in page
    assert 'value="3"' in page and 'max="4"' in page
    assert "hx-trigger=\"every 2s\"" in page  # still working: the row polls


def test_finished_batch_stops_polling(client_for, lab_staff, specimen, sample_upload):
    batch = store_upload(specimen, lab_staff, sample_upload(2))
    finish(CellResult.objects.all(), "done")
    response = client_for(lab_staff).get(reverse("diagnostics:batch_progress", args=[batch.pk]))
    assert "2 done · 0 failed · 0 queued or running" in response.content.decode()
    assert "hx-get" not in response.content.decode()


def test_batches_are_newest_first_and_only_my_own(
        client_for, lab_staff, administrator, specimen, sample_upload):
    first = store_upload(specimen, lab_staff, sample_upload(1))
    second = store_upload(specimen, lab_staff, sample_upload(1, start=1))
    store_upload(specimen, administrator, sample_upload(1, start=2))
    response = client_for(lab_staff).get(BATCHES)
    assert list(response.context["page"].object_list) == [second, first]


def test_someone_elses_batch_progress_is_404(client_for, lab_staff, administrator, specimen, sample_upload):
    batch = store_upload(specimen, administrator, sample_upload(1))
    url = reverse("diagnostics:batch_progress", args=[batch.pk])
    assert client_for(lab_staff).get(url).status_code == 404
    assert UploadBatch.objects.count() == 1


def test_doctors_have_no_batches_page(client_for, doctor):
    assert client_for(doctor).get(BATCHES).status_code == 403
