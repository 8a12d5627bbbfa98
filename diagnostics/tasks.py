import datetime

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from diagnostics import services
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
    attempt_started = timezone.now()
    try:
        return services.classify_results(result_ids)
    except TRANSIENT_ERRORS:
        release_unfinished_claims(result_ids, attempt_started)
        raise


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
    return services.requeue_stale_results(
        datetime.timedelta(minutes=settings.CLASSIFIER_STALE_AFTER_MINUTES)
    )
