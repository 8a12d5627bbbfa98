"""Uploads are queued once per batch through diagnostics.tasks, and sent once stored; queueing
belongs to the tasks: services compute and return what is to be queued."""
import ast
from pathlib import Path

from diagnostics import services, tasks
from diagnostics.models import CellResult
from imaging.uploads import store_upload


def test_an_upload_is_sent_to_the_workers_in_batches_once_stored(
    specimen, lab_staff, sample_upload, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CLASSIFIER_BATCH_SIZE = 2
    sent = []
    monkeypatch.setattr(tasks.classify_results, "delay", sent.append)
    with django_capture_on_commit_callbacks() as on_commit:
        batch = store_upload(specimen, lab_staff, sample_upload(5))
    assert sent == []  # nothing leaves before the images and their results are committed
    for callback in on_commit:
        callback()
    queued = list(CellResult.objects.filter(image__upload_batch=batch, status="queued")
                  .order_by("pk").values_list("pk", flat=True))
    assert len(queued) == 5
    assert sent == [queued[0:2], queued[2:4], queued[4:5]]


def test_queueing_returns_the_ids_of_the_results_it_queued(
    specimen, lab_staff, sample_upload, monkeypatch
):
    monkeypatch.setattr(tasks.classify_results, "delay", lambda result_ids: None)
    store_upload(specimen, lab_staff, sample_upload(2))
    images = list(specimen.images.all())
    CellResult.objects.all().delete()
    result_ids = tasks.queue_for_classification(images)
    assert result_ids == list(CellResult.objects.order_by("pk").values_list("pk", flat=True))


def imported_modules(module):
    tree = ast.parse(Path(module.__file__).read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_services_compute_and_never_queue_work_themselves():
    imported = imported_modules(services)
    assert "diagnostics.tasks" not in imported
    assert not any(name == "celery" or name.startswith("celery.") for name in imported)
