import datetime

import pytest
from django.utils import timezone

from diagnostics import tasks
from diagnostics.models import CellResult
from imaging.uploads import store_upload

TEN_MINUTES = datetime.timedelta(minutes=10)


@pytest.fixture
def results(specimen, lab_staff, sample_upload):
    store_upload(specimen, lab_staff, sample_upload(3))
    return CellResult.objects.order_by("pk")


def age(result, minutes, status):
    moment = timezone.now() - datetime.timedelta(minutes=minutes)
    CellResult.objects.filter(pk=result.pk).update(status=status, queued_at=moment, started_at=moment)


def test_work_a_dead_worker_left_running_is_sent_again_and_classified_once(
    results, django_capture_on_commit_callbacks
):
    stuck, recent, _ = results
    age(stuck, 60, "running")
    age(recent, 1, "running")
    with django_capture_on_commit_callbacks() as sent:
        assert tasks.send_stale_results_again(TEN_MINUTES) == 1
    assert len(sent) == 1
    assert CellResult.objects.get(pk=stuck.pk).status == "queued"
    assert CellResult.objects.get(pk=recent.pk).status == "running"  # still being worked on

    assert tasks.classify_results([stuck.pk]) == 1
    assert tasks.classify_results([stuck.pk]) == 0


def test_queued_work_whose_message_was_lost_is_sent_again(results, django_capture_on_commit_callbacks):
    for result in results:
        age(result, 30, "queued")
    with django_capture_on_commit_callbacks() as sent:
        assert tasks.send_stale_results_again(TEN_MINUTES) == 3
    assert len(sent) == 1  # one batch task for the three


def test_finished_work_is_left_alone(results):
    for result in results:
        age(result, 60, "done")
    assert tasks.send_stale_results_again(TEN_MINUTES) == 0


def test_a_redelivered_message_takes_over_work_its_dead_worker_left_running(results):
    stuck, recent, _ = results
    age(stuck, 60, "running")
    age(recent, 1, "running")
    assert tasks.classify_results([stuck.pk, recent.pk]) == 1
    assert CellResult.objects.get(pk=stuck.pk).status == "done"
    assert CellResult.objects.get(pk=recent.pk).status == "running"  # its worker is alive
