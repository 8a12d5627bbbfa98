"""Seconds per field of view and cells per second, end to end in the worker's code (run by hand).

Uploads CRIC fields (1280 x 960) into a fresh SQLite database in a temporary folder through
the upload service, then runs the worker's task in this process, as a solo worker does,
timing each field: ``find_cells_in_fields`` (read the field, detect its nuclei, cut a crop of
each, classify the crops from memory with both models, store crops, rows and results), then
``classify_results`` on any of its cells left queued (none, unless a model failed to load).
Then, for comparison, the same number of uploaded SIPaKMeD cell crops through
``classify_results`` alone: today's cells/s for crops. The broker is left out (a real worker
adds a few ms a task); heat maps, which follow at low priority, are not counted.

    .venv/bin/python bench/field_throughput.py --fields 5
    .venv/bin/python bench/field_throughput.py --fields 5 --min-score 0.5   # recall 0.73 only
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRIC = ROOT.parent / "shared" / "datasets" / "cric" / "images"
SIPAKMED = ROOT.parent / "shared" / "datasets" / "sipakmed"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=5)
    parser.add_argument("--cric", type=Path, default=CRIC)
    parser.add_argument("--sipakmed", type=Path, default=SIPAKMED)
    parser.add_argument("--min-score", type=float, default=None,
                        help="CELINSIGHT_DETECTOR_MIN_SCORE for this run (default: the setting's)")
    return parser.parse_args()


def set_up_django(var_dir, min_score):
    os.environ.update(CELINSIGHT_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="celinsight.settings")
    if min_score is not None:
        os.environ["CELINSIGHT_DETECTOR_MIN_SCORE"] = str(min_score)
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def new_specimen(name):
    from django.contrib.auth.models import User

    from imaging.models import Specimen
    from patients.models import Patient

    user, _ = User.objects.get_or_create(username="bench")
    patient = Patient.objects.create(mrn=name, full_name="Bench", date_of_birth="1980-01-01",
                                     consent_given=True)
    return user, Specimen.objects.create(patient=patient, accession_number=name,
                                         collected_on="2026-01-01")


def upload(paths, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from imaging.uploads import store_upload

    user, specimen = new_specimen(name)
    uploads = [SimpleUploadedFile(path.name, path.read_bytes()) for path in paths]
    store_upload(specimen, user, uploads, content)
    return specimen


def classify_in_chunks(result_ids):
    """classify_results on the worker's chunks (CLASSIFIER_BATCH_SIZE); seconds taken."""
    from django.conf import settings

    from diagnostics.tasks import classify_results

    size = settings.CLASSIFIER_BATCH_SIZE
    started = time.perf_counter()
    for start in range(0, len(result_ids), size):
        classify_results(result_ids[start:start + size])
    return time.perf_counter() - started


def time_fields(specimen):
    """Per field: (cells, seconds finding, classifying and storing them, seconds classifying
    those left queued)."""
    from diagnostics.tasks import find_cells_in_fields
    from imaging.models import FieldOfView

    rows = []
    for field in FieldOfView.objects.filter(image__specimen=specimen).order_by("pk"):
        started = time.perf_counter()
        find_cells_in_fields([field.pk])
        finding = time.perf_counter() - started
        field.refresh_from_db()
        queued = list(field.crops.filter(results__status="queued").order_by("pk")
                      .values_list("results__pk", flat=True))
        rows.append((field.cells_cut, finding, classify_in_chunks(queued)))
    return rows


def time_crops(paths):
    from diagnostics.models import CellResult

    specimen = upload(paths, "BENCH-CROPS", "cell")
    result_ids = list(CellResult.objects.filter(image__specimen=specimen)
                      .order_by("pk").values_list("pk", flat=True))
    return len(result_ids), classify_in_chunks(result_ids)


def warm_up():
    """Load the served models and the detector before timing, as a worker does at start."""
    from diagnostics.classifier import preload_active_classifier
    from diagnostics.field_cells import field_detector

    preload_active_classifier()  # the morphology and the Bethesda model
    field_detector()


def main():
    args = parse_args()
    fields = sorted(args.cric.glob("*.jpg"))[:args.fields]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as var_dir:
        set_up_django(Path(var_dir), args.min_score)
        warm_up()
        from django.conf import settings

        from diagnostics.field_cells import field_detector

        rows = time_fields(upload(fields, "BENCH-FIELDS", "field"))
        cells = sum(row[0] for row in rows)
        crops = sorted(p for folder in sorted(args.sipakmed.iterdir()) if folder.is_dir()
                       for p in folder.glob("*.png"))[:: max(1, 4049 // max(cells, 1))][:cells]
        crop_count, crop_seconds = time_crops(crops)
    per_field = [finding + classifying for _, finding, classifying in rows]
    detector = field_detector()
    print(f"detector {detector.metadata_.get('version')} (threshold {detector.threshold_:.3f}), "
          f"min score {settings.DETECTOR_MIN_SCORE:g}, crop {settings.CELL_CROP_PX} px, "
          f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    for index, (count, finding, classifying) in enumerate(rows, 1):
        print(f"field {index}: {count} cells, find+classify+store {finding:.2f} s, "
              f"classify queued {classifying:.2f} s, total {finding + classifying:.2f} s")
    total = sum(per_field)
    print(f"fields: median {statistics.median(per_field):.2f} s per field "
          f"(min {min(per_field):.2f}, max {max(per_field):.2f}); {cells / total:.0f} cells/s "
          f"end to end; of which {sum(r[2] for r in rows):.2f} s classifying cells left queued")
    print(f"crops:  {crop_count} uploaded SIPaKMeD cells classified at "
          f"{crop_count / crop_seconds:.0f} cells/s")


if __name__ == "__main__":
    main()
