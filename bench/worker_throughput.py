"""Images per second through the real worker, end to end (run by hand).

Uploads N real cells into a fresh SQLite database in a temporary folder, through the same
service the upload page uses (so they are queued on the broker), then starts one Celery
worker process exactly as bin/run does and waits until every result is stored, then until
the Grad-CAM overlays, which follow at low priority, are stored too.

The broker is the embedded folder broker, or with --redis a throwaway redis-server started
here on loopback (Debian's redis-server must be installed).

    .venv/bin/python bench/worker_throughput.py --images 2000
    .venv/bin/python bench/worker_throughput.py --images 2000 --redis
"""
import argparse
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "sipakmed"
UPLOAD_BATCH = 500


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--redis", action="store_true",
                        help="broker: a redis-server started on loopback (default: the folder broker)")
    parser.add_argument("--processes", type=int, default=1)
    return parser.parse_args()


@contextlib.contextmanager
def redis_broker(var_dir):
    """A throwaway redis-server on a free loopback port; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(var_dir)],
                              stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait()


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
    from imaging.fields import CELLS
    from imaging.uploads import store_upload
    from patients.models import Patient

    user = User.objects.create_user("bench")
    patient = Patient.objects.create(mrn="BENCH", full_name="Bench", date_of_birth="1980-01-01",
                                     consent_given=True)
    specimen = Specimen.objects.create(patient=patient, accession_number="BENCH", collected_on="2026-01-01")
    stored = 0
    for start in range(0, len(paths), UPLOAD_BATCH):  # as a lab would: several uploads
        uploads = [SimpleUploadedFile(f"{p.parent.name}_{p.name}", p.read_bytes())
                   for p in paths[start:start + UPLOAD_BATCH]]
        # Cell crops, said so: by size alone a few large SIPaKMeD crops would be fields of view.
        stored += store_upload(specimen, user, uploads, content=CELLS).stored_count
    return stored


def cells_from_every_class(data_dir, count):
    """``count`` cells taken in turn from each class folder, so the class mix is even."""
    per_class = [sorted(folder.glob("*.png")) for folder in sorted(data_dir.iterdir())
                 if folder.is_dir()]
    interleaved = [path for group in itertools.zip_longest(*per_class) for path in group if path]
    return interleaved[:count]


def wait_for_results(expected):
    from diagnostics.models import CellResult

    while CellResult.objects.filter(status__in=["done", "failed"]).count() < expected:
        time.sleep(0.2)
    return list(CellResult.objects.all())


def wait_for_heatmaps(results, timeout_seconds=900):
    """Wait until every result that needs an overlay has one; return how many that is."""
    from diagnostics.models import CellResult
    from diagnostics.services import needs_heatmap

    expected = sum(r.status == "done" and needs_heatmap(r) for r in results)
    deadline = time.perf_counter() + timeout_seconds
    while (CellResult.objects.exclude(heatmap="").count() < expected
           and time.perf_counter() < deadline):
        time.sleep(0.5)
    return expected


def peak_rss_mib(pid):
    """Peak resident memory (VmHWM) of the process and its children (a prefork pool's), summed,
    read from /proc before they exit. Pages a child shares with its parent count twice."""
    status = Path(f"/proc/{pid}/status")
    peak = next((int(line.split()[1]) / 1024 for line in status.read_text().splitlines()
                 if line.startswith("VmHWM:")), float("nan"))
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return peak + sum(peak_rss_mib(int(child)) for child in children)


def main():
    args = parse_args()
    paths = cells_from_every_class(args.data, args.images)
    with tempfile.TemporaryDirectory() as var_dir, contextlib.ExitStack() as services:
        if args.redis:
            os.environ["CELERY_BROKER_URL"] = services.enter_context(redis_broker(var_dir))
        set_up_django(Path(var_dir))
        queued = queue_images(paths)
        started = time.perf_counter()
        pool = (["--pool=solo"] if args.processes == 1
                else ["--pool=prefork", f"--concurrency={args.processes}"])
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celinsight", "worker", *pool,
             "--loglevel=WARNING"], cwd=ROOT, env=os.environ.copy())
        try:
            results = wait_for_results(queued)
            wall = time.perf_counter() - started
            heatmaps = wait_for_heatmaps(results)
            heatmap_wall = time.perf_counter() - started
            worker_peak_mib = peak_rss_mib(worker.pid)
        finally:
            worker.terminate()
            worker.wait()
        report(args, queued, results, wall, heatmaps, heatmap_wall, worker_peak_mib)


def seconds_between_batches(results):
    """Time from one batch's predictions to the next batch's claim, summed over batches."""
    batches = sorted({(r.started_at, r.finished_at) for r in results if r.finished_at})
    return sum(max((next_start - finished).total_seconds(), 0.0)
               for (_, finished), (next_start, _) in zip(batches, batches[1:]))


def report(args, queued, results, wall, heatmaps, heatmap_wall, worker_peak_mib):
    from django.conf import settings

    first_start = min(r.started_at for r in results)
    last_finish = max(r.finished_at for r in results)
    busy = (last_finish - first_start).total_seconds()
    failed = sum(r.status == "failed" for r in results)
    broker = "redis-server" if args.redis else "embedded folder broker"
    print(f"{queued} images queued ({broker}, {settings.DATABASES['default']['ENGINE']}, "
          f"{settings.CLASSIFIER_BATCH_SIZE} images per task), {failed} failed")
    print(f"worker start to last result: {wall:.1f} s -> {queued / wall:.1f} images/s "
          f"(includes starting the worker and loading the model)")
    print(f"first claim to last result:  {busy:.1f} s -> {queued / busy:.1f} images/s")
    print(f"  of which between batches (saving, scoring, next message, claiming): "
          f"{seconds_between_batches(results):.1f} s")
    print(f"Grad-CAM overlays: {heatmaps} (flagged or abnormal cells), all stored "
          f"{heatmap_wall:.1f} s after the worker started")
    print(f"worker peak RSS: {worker_peak_mib:.0f} MiB (worker and pool processes, summed)")


if __name__ == "__main__":
    main()
