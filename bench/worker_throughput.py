"""Images per second through the real worker on the embedded defaults (run by hand).

Uploads N real cells into a fresh SQLite database in a temporary folder, through the same
service the upload page uses (so they are queued on the folder broker), then starts one
Celery worker process exactly as bin/run does and waits until every result is stored.

    .venv/bin/python bench/worker_throughput.py --images 500
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "sipakmed"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    return parser.parse_args()


def set_up_django(var_dir):
    os.environ.update(CELINSIGHT_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="celinsight.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def queue_images(paths):
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile

    from imaging.models import Specimen
    from imaging.uploads import store_upload
    from patients.models import Patient

    user = User.objects.create_user("bench")
    patient = Patient.objects.create(mrn="BENCH", full_name="Bench", date_of_birth="1980-01-01")
    specimen = Specimen.objects.create(patient=patient, accession_number="BENCH", collected_on="2026-01-01")
    uploads = [SimpleUploadedFile(f"{p.parent.name}_{p.name}", p.read_bytes()) for p in paths]
    batch = store_upload(specimen, user, uploads)
    return batch.stored_count


def wait_for_results(expected):
    from diagnostics.models import CellResult

    while CellResult.objects.filter(status__in=["done", "failed"]).count() < expected:
        time.sleep(0.2)
    return CellResult.objects.all()


def peak_rss_mib(pid):
    """The process's peak resident memory (VmHWM), read from /proc before it exits."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    args = parse_args()
    every_path = sorted(args.data.glob("*/*.png"))
    step = max(1, len(every_path) // args.images)
    paths = every_path[::step][: args.images]  # spread over the classes
    with tempfile.TemporaryDirectory() as var_dir:
        set_up_django(Path(var_dir))
        queued = queue_images(paths)
        started = time.perf_counter()
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celinsight", "worker", "--pool=solo",
             "--loglevel=WARNING"], cwd=ROOT, env=os.environ.copy())
        try:
            results = wait_for_results(queued)
            wall = time.perf_counter() - started
            worker_peak_mib = peak_rss_mib(worker.pid)
        finally:
            worker.terminate()
            worker.wait()
        first_start = min(r.started_at for r in results)
        last_finish = max(r.finished_at for r in results)
        busy = (last_finish - first_start).total_seconds()
        failed = sum(r.status == "failed" for r in results)
        print(f"{queued} images queued, {failed} failed")
        print(f"worker start to last result: {wall:.1f} s -> {queued / wall:.1f} images/s "
              f"(includes loading torch and the model)")
        print(f"first claim to last result:  {busy:.1f} s -> {queued / busy:.1f} images/s")
        print(f"worker peak RSS: {worker_peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
