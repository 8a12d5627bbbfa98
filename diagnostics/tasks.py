from celery import shared_task

from diagnostics import services


@shared_task(name="diagnostics.classify_results")
def classify_results(result_ids):
    return services.classify_results(result_ids)
