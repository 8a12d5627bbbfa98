"""A real Celery worker whose batches each take SLOW_BATCH_SECONDS longer.

The crash test starts this one so that it can kill a worker in the middle of a batch, every
time, whatever the speed of the machine.
"""
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django  # noqa: E402

django.setup()

from celinsight.celery import app  # noqa: E402
from diagnostics import services  # noqa: E402

classify_batch = services.classify_batch


def slow_classify_batch(version, results, started):
    time.sleep(float(os.environ.get("SLOW_BATCH_SECONDS", "0.5")))
    return classify_batch(version, results, started)


services.classify_batch = slow_classify_batch
app.worker_main(["worker", "--pool=solo", "--loglevel=INFO"])
