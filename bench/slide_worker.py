"""A whole slide through the product's worker, end to end (run by hand; issue 16's target:
a 40,000 x 40,000 slide processed with worker RSS <= 1.5 GB).

Uploads a pyramidal TIFF into a fresh specimen (SQLite and file storage in a temporary
folder) through the service the upload page uses, so it is checked with OpenSlide, stored and
queued on the embedded folder broker; then starts one Celery worker exactly as bin/run does and
waits until the slide's scan is done and the results of its kept cells are stored (and their
Grad-CAM overlays, up to --heatmap-timeout). The worker's peak RSS (VmHWM of the worker and
any pool children, read from /proc) is sampled while it runs and reported at each stage.

    .venv/bin/python bench/slide_worker.py       # /tmp/celinsight-slide-40000-9000.tiff
    .venv/bin/python bench/slide_worker.py --slide some.tiff
    .venv/bin/python bench/slide_worker.py --size 8000 --tissue 3000

Without --slide the synthetic slide of bench/slide_throughput.py is used (written once, by
that script, in a child process, when missing).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.5


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slide", type=Path, help="a slide to upload instead of the synthetic one")
    parser.add_argument("--size", type=int, default=40000)
    parser.add_argument("--tissue", type=int, default=9000)
    parser.add_argument("--heatmap-timeout", type=int, default=600,
                        help="seconds to wait for the kept cells' Grad-CAM overlays")
    return parser.parse_args()


def synthetic_slide(size, tissue):
    path = Path(f"/tmp/celinsight-slide-{size}-{tissue}.tiff")
    if not path.exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "slide_throughput.py"),
                        "--build-only", "--size", str(size), "--tissue", str(tissue)], check=True)
    return path


def set_up_django(var_dir):
    os.environ.update(CELINSIGHT_VAR_DIR=str(var_dir),
                      DJANGO_SETTINGS_MODULE="celinsight.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def upload_slide(path):
    """Store the slide as the upload page does (its file read from disk, as Django's
    TemporaryUploadedFile is); return the batch."""
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

    from imaging.fields import SLIDES
    from imaging.models import Specimen
    from imaging.uploads import store_upload
    from patients.models import Patient

    class SlideOnDisk(UploadedFile):
        def temporary_file_path(self):
            return str(path)

    user = User.objects.create_user("bench")
    patient = Patient.objects.create(mrn="BENCH", full_name="Bench", date_of_birth="1980-01-01",
                                     consent_given=True)
    specimen = Specimen.objects.create(patient=patient, accession_number="BENCH",
                                       collected_on="2026-01-01")
    with open(path, "rb") as source:
        upload = SlideOnDisk(source, name=path.name, size=path.stat().st_size)
        return store_upload(specimen, user, [upload], content=SLIDES)


def peak_rss_mib(pid):
    """Peak resident memory (VmHWM) of the process and its children, summed."""
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    peak = next((int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:")),
                0.0)
    return peak + sum(peak_rss_mib(int(child)) for child in children)


class Worker:
    """One Celery worker process as bin/run starts it, its peak RSS sampled while it runs."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celinsight", "worker", "--pool=solo",
             "--loglevel=WARNING"], cwd=ROOT, env=os.environ.copy())
        self.peak_mib = 0.0

    def sample(self):
        self.peak_mib = max(self.peak_mib, peak_rss_mib(self.process.pid))
        if self.process.poll() is not None:
            raise SystemExit(f"the worker exited with {self.process.returncode}")

    def wait_until(self, done, timeout=None, show=None):
        started = time.perf_counter()
        while not done():
            self.sample()
            if show:
                show(self.peak_mib)
            if timeout is not None and time.perf_counter() - started > timeout:
                return False
            time.sleep(POLL_SECONDS)
        self.sample()
        return True

    def stop(self):
        self.process.terminate()
        self.process.wait()


def slide_finished():
    from imaging.models import FieldOfView

    return FieldOfView.objects.filter(status__in=["done", "failed"]).exists()


def show_progress(peak_mib):
    from imaging.models import FieldOfView

    field = FieldOfView.objects.get()
    print(f"\r{field.status}: {field.tiles_done or 0}/{field.tiles_total or '?'} tiles, "
          f"worker peak RSS {peak_mib:.0f} MiB", end="", file=sys.stderr, flush=True)


def results_finished():
    from diagnostics.models import CellResult

    return not CellResult.objects.filter(status__in=["queued", "running"]).exists()


def heatmaps_finished():
    from diagnostics.models import CellResult
    from diagnostics.services import needs_heatmap

    done = CellResult.objects.filter(status="done")
    return sum(map(needs_heatmap, done)) <= done.exclude(heatmap="").count()


def rows_written():
    from auditlog.models import LogEntry

    from diagnostics.models import CellResult
    from imaging.models import ImageAsset

    crops = ImageAsset.objects.filter(kind="cell").count()
    return {"crop_images": crops, "cell_results": CellResult.objects.count(),
            "audit_entries": LogEntry.objects.count()}


def main():
    args = parse_args()
    path = args.slide or synthetic_slide(args.size, args.tissue)
    with tempfile.TemporaryDirectory() as var_dir:
        set_up_django(Path(var_dir))
        started = time.perf_counter()
        batch = upload_slide(path)
        upload_seconds = time.perf_counter() - started
        if batch.stored_count != 1:
            raise SystemExit(f"the slide was not stored: {batch.rejections}")
        worker = Worker()
        started = time.perf_counter()
        try:
            worker.wait_until(slide_finished, show=show_progress)
            scan_seconds, scan_peak = time.perf_counter() - started, worker.peak_mib
            worker.wait_until(results_finished)
            results_seconds, results_peak = time.perf_counter() - started, worker.peak_mib
            heatmaps_done = worker.wait_until(heatmaps_finished, timeout=args.heatmap_timeout)
            heatmaps_seconds = time.perf_counter() - started
        finally:
            worker.stop()
        print(file=sys.stderr)
        print(json.dumps(figures(path, upload_seconds, scan_seconds, scan_peak, results_seconds,
                                 results_peak, heatmaps_done, heatmaps_seconds, worker.peak_mib),
                         indent=1))


def figures(path, upload_seconds, scan_seconds, scan_peak, results_seconds, results_peak,
            heatmaps_done, heatmaps_seconds, final_peak):
    from diagnostics.models import CellResult
    from imaging.models import FieldOfView

    field = FieldOfView.objects.select_related("image").get()
    return {
        "slide": str(path), "slide_bytes": path.stat().st_size,
        "dimensions": [field.image.width, field.image.height],
        "status": field.status, "error": field.error,
        "upload_seconds": round(upload_seconds, 1),
        "tiles_total": field.tiles_total, "tiles_done": field.tiles_done,
        "cells_found": field.cells_found, "cells_kept_as_rows": field.cells_cut,
        "parquet_bytes": field.cell_table.size if field.cell_table else 0,
        **rows_written(),
        "scan_seconds_in_worker": field.seconds_taken and round(field.seconds_taken, 1),
        "wall_seconds_worker_start_to_slide_done": round(scan_seconds, 1),
        "worker_peak_rss_mib_at_slide_done": round(scan_peak),
        "wall_seconds_to_kept_cells_classified": round(results_seconds, 1),
        "worker_peak_rss_mib_at_kept_cells_classified": round(results_peak),
        "heatmaps_stored": CellResult.objects.exclude(heatmap="").count(),
        "heatmaps_all_stored": heatmaps_done,
        "wall_seconds_to_heatmaps": round(heatmaps_seconds, 1),
        "worker_peak_rss_mib_overall": round(final_peak),
    }


if __name__ == "__main__":
    main()
