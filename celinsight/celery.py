import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celinsight.settings")

app = Celery("celinsight")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def load_the_model_in_the_worker(sender, **kwargs):
    # A prefork worker's main process classifies nothing: its children load their own copy.
    if not sender.pool_cls.__module__.endswith(".prefork"):
        from diagnostics.classifier import preload_active_classifier

        preload_active_classifier()


@worker_process_init.connect
def load_the_model_in_each_pool_process(**kwargs):
    from diagnostics.classifier import preload_active_classifier

    preload_active_classifier()
