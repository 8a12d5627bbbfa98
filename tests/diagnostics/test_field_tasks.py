"""Queueing fields of view for the worker: a task per field, a video's frames together in
time order, a field a dead worker left behind sent again, a transient error retried."""
import datetime

import pytest
from django.db import OperationalError
from django.utils import timezone

from diagnostics import field_cells, tasks
from imaging.models import FieldOfView
from imaging.uploads import store_upload
from tests.imaging.field_images import png_upload, synthetic_field

TEN_MINUTES = datetime.timedelta(minutes=10)


@pytest.fixture
def two_fields(specimen, lab_staff):
    store_upload(specimen, lab_staff, [png_upload("a.png", synthetic_field()),
                                       png_upload("b.png", synthetic_field(seed=6))])
    return list(FieldOfView.objects.order_by("pk"))


def test_each_field_is_a_task_of_its_own(specimen, lab_staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as sent:
        store_upload(specimen, lab_staff, [png_upload("a.png", synthetic_field()),
                                           png_upload("b.png", synthetic_field(seed=6))])
    assert len(sent) == 2


def test_a_videos_frames_are_one_task_in_time_order(two_fields):
    first, second = two_fields
    for field, seconds in ((first, 2.0), (second, 1.0)):
        field.video_name, field.frame_seconds = "clip.avi", seconds
    assert field_cells.detection_tasks([first, second]) == [[second.pk, first.pk]]


def test_a_field_a_dead_worker_left_running_is_sent_again_and_searched_once(
        two_fields, django_capture_on_commit_callbacks):
    stuck, recent = two_fields
    long_ago = timezone.now() - datetime.timedelta(minutes=60)
    FieldOfView.objects.filter(pk=stuck.pk).update(status="running", queued_at=long_ago,
                                                   started_at=long_ago)
    FieldOfView.objects.filter(pk=recent.pk).update(status="running", started_at=timezone.now())
    with django_capture_on_commit_callbacks() as sent:
        tasks.send_stale_results_again(TEN_MINUTES)
    assert len(sent) == 1
    assert FieldOfView.objects.get(pk=stuck.pk).status == "queued"
    assert FieldOfView.objects.get(pk=recent.pk).status == "running"
    assert tasks.find_cells_in_fields([stuck.pk]) > 0
    assert tasks.find_cells_in_fields([stuck.pk]) == 0  # done: not searched twice


def test_a_transient_database_error_puts_the_fields_back_in_the_queue(two_fields, monkeypatch):
    def unreachable(*args):
        raise OperationalError("database is locked")

    monkeypatch.setattr(field_cells, "save_field_cells", unreachable)
    with pytest.raises(OperationalError):
        tasks.find_cells_in_fields.run([field.pk for field in two_fields])
    assert set(FieldOfView.objects.values_list("status", flat=True)) == {"queued"}


def test_each_fields_cells_are_sent_for_classification_as_soon_as_stored(
        two_fields, django_capture_on_commit_callbacks):
    sent_per_field = []
    with django_capture_on_commit_callbacks() as sent:
        field_cells.find_cells_in_fields([field.pk for field in two_fields], "test-model",
                                         lambda cells: sent_per_field.append(cells.count))
    cut = [field.cells_cut for field in FieldOfView.objects.order_by("pk")]
    assert sent_per_field == cut and all(cut)
    assert not sent  # the service queues nothing itself: diagnostics.tasks sends
