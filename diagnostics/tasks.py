import datetime

from celery import shared_task
from django.conf import settings

from diagnostics import services


@shared_task(name="diagnostics.classify_results")
def classify_results(result_ids):
    return services.classify_results(result_ids)


@shared_task(name="diagnostics.requeue_stale_results")
def requeue_stale_results():
    return services.requeue_stale_results(
        datetime.timedelta(minutes=settings.CLASSIFIER_STALE_AFTER_MINUTES)
    )
