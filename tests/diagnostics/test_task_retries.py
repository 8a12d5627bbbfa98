"""A classification task that meets a transient error tries again and loses no image."""
from django.db import OperationalError

from diagnostics import services
from diagnostics.models import CellResult
from diagnostics.tasks import classify_results
from imaging.uploads import store_upload


def test_a_batch_that_hits_a_database_outage_is_retried_and_classified(
    specimen, lab_staff, sample_upload, monkeypatch
):
    store_upload(specimen, lab_staff, sample_upload(3))
    result_ids = list(CellResult.objects.values_list("pk", flat=True))
    classify_batch = services.classify_batch
    outages = [OperationalError("server closed the connection unexpectedly")]

    def classify_after_outage(*args):
        if outages:
            raise outages.pop()
        return classify_batch(*args)

    monkeypatch.setattr(services, "classify_batch", classify_after_outage)
    outcome = classify_results.apply(args=[result_ids])  # eager: the retry runs at once

    assert outcome.successful() and outcome.result == 3
    assert CellResult.objects.filter(status="done").count() == 3


def test_a_lasting_outage_gives_up_and_leaves_the_images_queued(
    specimen, lab_staff, sample_upload, monkeypatch
):
    store_upload(specimen, lab_staff, sample_upload(2))
    result_ids = list(CellResult.objects.values_list("pk", flat=True))

    def always_down(*args):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(services, "classify_batch", always_down)
    outcome = classify_results.apply(args=[result_ids])

    assert outcome.failed()
    # Queued, not stuck in "running": the reaper sends them again once the database is back.
    assert CellResult.objects.filter(status="queued").count() == 2
