"""The work the Celery workers do, and the one place that sends it to them.

Uploads ask :func:`queue_for_classification` once per batch; the tasks call
diagnostics.services, which compute and store and return what is to be queued next.
"""
import datetime
import time

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from diagnostics import field_cells, services
from diagnostics.classifier import active_model_version
from diagnostics.models import CellResult

# Worth another try: the database or the storage was briefly unreachable. Anything else
# (a bad image, a classifier error) is recorded on the result by the services instead.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError)
TRANSIENT_ERROR_RETRIES = 6
RETRY_TRANSIENT_ERRORS = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,  # seconds: 2, 4, 8, ... each with random jitter
    "retry_backoff_max": 300,
    "retry_jitter": True,
}


def queue_for_classification(images):
    """Queue stored images for classification with the active model; return the result ids.

    Call it inside the transaction that stores the images: their queued results are
    created in it, so no image is stored without one, and the workers are sent them once
    it commits.
    """
    model_version = active_model_version()
    result_ids = [result.pk for result in services.create_queued_results(images, model_version)]
    send_for_classification(result_ids)
    return result_ids


def queue_for_detection(images):
    """Queue stored field-of-view images for the worker to find their cells; return the
    FieldOfView ids. Like queue_for_classification, inside the transaction that stores them.

    Each field is a task of its own (several workers share a batch); the frames of one video
    are one task, in time order, so a cell seen in consecutive frames is counted once.
    """
    chunks = field_cells.detection_tasks(field_cells.create_queued_fields(images))
    send_for_detection(chunks)
    return [field_id for chunk in chunks for field_id in chunk]


def send_for_detection(chunks):
    """Send these groups of queued fields to the workers, a task each, on commit."""
    for chunk in chunks:
        transaction.on_commit(lambda chunk=chunk: find_cells_in_fields.delay(chunk))


@shared_task(name="diagnostics.find_cells_in_fields", max_retries=TRANSIENT_ERROR_RETRIES,
             **RETRY_TRANSIENT_ERRORS)
def find_cells_in_fields(field_ids):
    """Find the cells of these queued fields, classify them and store them as crops with
    their results, then queue their heat maps (and any cell left to classify); return how
    many cells were stored. A field that fails is marked so."""
    attempt_started = timezone.now()
    try:
        stored = field_cells.find_cells_in_fields(field_ids, active_model_version(),
                                                  send_stored_cells)
    except TRANSIENT_ERRORS:
        field_cells.release_unfinished_fields(field_ids, attempt_started)
        raise
    return stored.count


def send_stored_cells(stored):
    """Send on what a field's search left to do: the cells it queued, the heat maps."""
    send_for_classification(list(stored.queued))
    send_for_heatmaps(stored.needing_heatmaps)


def send_for_classification(result_ids):
    """Send these queued results to the workers, CLASSIFIER_BATCH_SIZE a task, on commit."""
    batch_size = settings.CLASSIFIER_BATCH_SIZE
    for start in range(0, len(result_ids), batch_size):
        chunk = result_ids[start:start + batch_size]
        transaction.on_commit(lambda chunk=chunk: classify_results.delay(chunk))


def send_for_heatmaps(result_ids):
    """Queue Grad-CAM for these classified results, as a task of its own, on commit.

    A heat map costs several predictions (see services.needs_heatmap), so it must not hold
    back the results: they are stored first and the overlays follow at low priority.
    """
    if result_ids:
        chosen = list(result_ids)
        transaction.on_commit(lambda: store_heatmaps.delay(chosen))


def release_unfinished_claims(result_ids, claimed_since):
    """Put back in the queue the results this attempt claimed and could not finish.

    The retry claims only queued results, so without this the work of a failed attempt
    would wait in "running" for the stale-result reaper.
    """
    CellResult.objects.filter(
        pk__in=result_ids, status=CellResult.Status.RUNNING, started_at__gte=claimed_since
    ).update(status=CellResult.Status.QUEUED, started_at=None)


@shared_task(name="diagnostics.classify_results", max_retries=TRANSIENT_ERROR_RETRIES,
             **RETRY_TRANSIENT_ERRORS)
def classify_results(result_ids):
    """Classify the queued results with these ids; return how many were classified.

    Each model version's results are stored, then their heat maps queued, before the next
    version's are classified.
    """
    attempt_started = timezone.now()
    started = time.perf_counter()
    classified = 0
    try:
        for version, results in services.claim_by_model_version(result_ids).items():
            batch = services.classify_batch(version, results, started)
            send_for_heatmaps(batch.needing_heatmaps)
            classified += batch.count
    except TRANSIENT_ERRORS:
        release_unfinished_claims(result_ids, attempt_started)
        raise
    return classified


# Heat maps yield to classification: while images wait, the task comes back later, for at
# most HEATMAP_MAX_DEFERRALS x HEATMAP_DEFER_SECONDS, so results are never held back by them.
HEATMAP_DEFER_SECONDS = 10
HEATMAP_MAX_DEFERRALS = 60


@shared_task(name="diagnostics.store_heatmaps", bind=True,
             max_retries=HEATMAP_MAX_DEFERRALS + TRANSIENT_ERROR_RETRIES, **RETRY_TRANSIENT_ERRORS)
def store_heatmaps(self, result_ids):
    if self.request.retries < HEATMAP_MAX_DEFERRALS and services.classification_waiting():
        raise self.retry(countdown=HEATMAP_DEFER_SECONDS)
    return services.store_heatmaps_of(result_ids)


@shared_task(name="diagnostics.requeue_stale_results")
def requeue_stale_results():
    return send_stale_results_again(
        datetime.timedelta(minutes=settings.CLASSIFIER_STALE_AFTER_MINUTES)
    )


def send_stale_results_again(older_than):
    """Send again the work a dead worker or a lost message left behind, queued or running
    since before ``older_than`` ago; return how many results were sent.

    Claiming is idempotent, so a result that was in fact on its way is classified once.
    """
    result_ids = services.release_stale_results(older_than)
    send_for_classification(result_ids)
    send_for_detection(field_cells.release_stale_fields(older_than))
    return len(result_ids)
