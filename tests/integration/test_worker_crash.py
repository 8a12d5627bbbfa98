"""A worker killed (kill -9) in the middle of a batch loses nothing and repeats nothing."""
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from django.db.models import Count
from django.utils import timezone

from diagnostics import tasks
from diagnostics.models import CellResult
from imaging.models import ImageAsset
from imaging.uploads import store_upload

pytestmark = [pytest.mark.integration,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]
IMAGE_COUNT = 40
SLOW_WORKER = Path(__file__).resolve().parent / "slow_worker.py"


def count(status):
    return CellResult.objects.filter(status=status).count()


def wait_until(condition, timeout, what, worker):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    log = Path(worker.log_path).read_text()[-3000:]
    raise AssertionError(f"Gave up after {timeout} s waiting for {what}; worker log:\n{log}")


def test_a_worker_killed_mid_batch_leaves_every_image_classified_once(
    settings, worker_env, start_worker, specimen, lab_staff, distinct_cells
):
    settings.CLASSIFIER_BATCH_SIZE = 4  # ten tasks, so the crash lands between and inside them
    batch = store_upload(specimen, lab_staff, distinct_cells(IMAGE_COUNT))
    assert batch.stored_count == IMAGE_COUNT

    doomed = start_worker({**worker_env, "SLOW_BATCH_SECONDS": "1.0"}, "doomed-worker",
                          [sys.executable, str(SLOW_WORKER)])
    wait_until(lambda: count("done") >= 4 and count("running") >= 1, 240,
               "the first worker to finish a batch and start the next", doomed)
    os.killpg(doomed.pid, signal.SIGKILL)  # kill -9, as a crash or the OOM killer would
    doomed.wait(timeout=30)
    killed_at = timezone.now()
    assert count("done") < IMAGE_COUNT
    assert count("running") >= 1  # claimed by the dead worker: nobody will finish them

    survivor = start_worker(worker_env, "survivor-worker")
    # The reaper, as beat runs it, with an age that covers exactly the dead worker's claims.
    tasks.send_stale_results_again(timezone.now() - killed_at)
    wait_until(lambda: count("done") == IMAGE_COUNT, 240, "the second worker", survivor)

    per_image = ImageAsset.objects.annotate(result_count=Count("results")).values_list("result_count", flat=True)
    assert list(per_image) == [1] * IMAGE_COUNT
    assert count("failed") == count("running") == count("queued") == 0
