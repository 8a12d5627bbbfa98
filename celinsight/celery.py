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
    if sender.pool_cls.__module__.endswith(".prefork"):
        share_cores_between_pool_processes(sender.concurrency)
    else:
        from diagnostics.classifier import preload_active_classifier

        preload_active_classifier()


def share_cores_between_pool_processes(processes, environ=os.environ):
    """Give each pool process its share of the cores for torch, unless OMP_NUM_THREADS is set.

    Otherwise every child starts one thread per core: 2 children on 2 cores ran 4 busy
    threads, which slowed each other down. Children inherit the variable when forked, before
    they import torch.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    environ.setdefault("OMP_NUM_THREADS", str(max(1, (cores or 1) // processes)))


@worker_process_init.connect
def load_the_model_in_each_pool_process(**kwargs):
    from diagnostics.classifier import preload_active_classifier

    preload_active_classifier()
