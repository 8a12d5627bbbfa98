"""How long diagnostics.services.save_results takes to store one worker batch (run by hand).

Makes a fresh SQLite database in a temporary folder (the settings' WAL mode, as the worker
uses it), 64 queued results by default, then times claiming-free rounds of
apply_predictions + save_results on them and prints the median and the range.

    .venv/bin/python bench/save_results_timing.py --results 64 --rounds 30
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["Dyskeratotic", "Koilocytotic", "Metaplastic", "Parabasal", "Superficial-Intermediate"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        os.environ["CELINSIGHT_VAR_DIR"] = var_dir
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celinsight.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        timings = time_rounds(make_results(args.results), args.rounds)
    print(f"save_results, {args.results} results: median {statistics.median(timings):.2f} ms, "
          f"min {min(timings):.2f} ms, max {max(timings):.2f} ms ({args.rounds} rounds)")


def make_results(count):
    from django.contrib.auth.models import User

    from diagnostics.models import CellResult
    from imaging.models import ImageAsset, Specimen
    from patients.models import Patient

    user = User.objects.create_user("bench")
    patient = Patient.objects.create(mrn="BENCH-1", full_name="Bench", date_of_birth="1980-01-01",
                                     created_by=user)
    specimen = Specimen.objects.create(patient=patient, accession_number="B-1",
                                       collected_on="2026-01-01", created_by=user)
    images = [ImageAsset.objects.create(
        specimen=specimen, file=f"b/{n}.png", original_name=f"{n}.png", sha256=f"{n:064x}",
        image_format="PNG", width=8, height=8, size_bytes=1) for n in range(count)]
    return [CellResult.objects.create(image=image, model_version="bench-model",
                                      status=CellResult.Status.RUNNING) for image in images]


def time_rounds(results, rounds):
    import numpy as np

    from diagnostics.cell_predictions import apply_predictions
    from diagnostics.services import save_results

    rng = np.random.default_rng(0)
    timings = []
    for _ in range(rounds):
        probabilities = rng.dirichlet(np.ones(len(CLASSES)), size=len(results))
        referrals = probabilities.max(axis=1) < 0.944
        apply_predictions(results, probabilities, referrals, CLASSES, 0.01)
        started = time.perf_counter()
        save_results(results)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


if __name__ == "__main__":
    main()
