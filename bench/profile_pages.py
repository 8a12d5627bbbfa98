"""Where a page's time goes: cProfile over repeated requests of the load test's pages.

Opens the screening queue (as syn-ct-01), the worklist, a specimen, its review page and
its patient's history (as syn-doctor-01) through Django's test client on the database
DATABASE_URL names (the load test's PostgreSQL: run `bench/load_test.sh --explain` once to
create it, then start its server, or use --profile-pages of load_test.sh), and prints each
page's milliseconds per request and the functions that took most of the time.

    DATABASE_URL=postgres://... .venv/bin/python bench/profile_pages.py --rounds 30
    DATABASE_URL=postgres://... .venv/bin/python bench/profile_pages.py --cpu   # CPU only

``--cpu``: no profiler; each page's median and fastest CPU time of the Django process
(``time.process_time``, SQL waits excluded) over the rounds after one to warm up, and the
CPU its PostgreSQL backend spent a request (when the server runs on this machine).
"""
import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celinsight.settings")
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from diagnostics.worklists import awaiting_review  # noqa: E402


def pages():
    doctor = User.objects.get(username="syn-doctor-01")
    specimen = awaiting_review(doctor).first()
    screener = User.objects.filter(username="syn-ct-01").first()
    listed = []
    if screener:
        listed.append((screener, "screening queue", "/cases/queue/"))
    listed += [(doctor, "worklist", "/worklist/"),
               (doctor, "specimen", specimen.get_absolute_url()),
               (doctor, "review", f"/specimens/{specimen.pk}/review/"),
               (doctor, "patient history", specimen.patient.get_absolute_url())]
    return listed


def profile(client, url, rounds):
    client.get(url)  # warm per-process caches
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(rounds):
        response = client.get(url)
    profiler.disable()
    elapsed = (time.perf_counter() - started) / rounds
    assert response.status_code == 200, (url, response.status_code)
    sql_ms = sum(float(query["time"]) for query in captured.captured_queries) * 1000
    return elapsed, len(captured.captured_queries), sql_ms, profiler


def print_cpu_time(client, name, url, rounds):
    client.get(url)
    times = []
    database_started = database_cpu_seconds()
    for _ in range(rounds):
        started = time.process_time()
        client.get(url)
        times.append(time.process_time() - started)
    database_ms = ""
    if database_started is not None:
        spent = (database_cpu_seconds() - database_started) / rounds
        database_ms = f"  PostgreSQL {spent * 1000:5.1f} ms a request"
    print(f"{name:<16} median {statistics.median(times) * 1000:6.1f} ms  "
          f"fastest {min(times) * 1000:6.1f} ms of CPU{database_ms}")


def database_cpu_seconds():
    """The CPU time of this connection's PostgreSQL backend process (on this machine), or
    None (SQLite, or a server elsewhere). Counted in clock ticks: use tens of rounds."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30,
                        help="requests per page (profiled, or timed with --cpu)")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--cpu", action="store_true", help="CPU time per page, no profile")
    args = parser.parse_args()
    clients = {}
    for user, name, url in pages():
        client = clients.setdefault(user.pk, Client(HTTP_HOST="localhost"))
        client.force_login(user)
        if args.cpu:
            print_cpu_time(client, name, url, args.rounds)
            continue
        elapsed, queries, sql_ms, profiler = profile(client, url, args.rounds)
        print(f"\n== {name} {url}: {elapsed * 1000:.1f} ms a request, {queries} queries, "
              f"{sql_ms:.1f} ms of SQL")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
