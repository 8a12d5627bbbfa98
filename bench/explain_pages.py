"""The queries behind the load test's pages, on the database DATABASE_URL names.

For the worklist, a specimen page and a patient history opened by syn-doctor-01: the number
of queries and their total time; then EXPLAIN ANALYZE of the worklist's slowest query (the
slowest page's main query) and of the patient history's main query, to show which indexes
PostgreSQL uses. Run by ``bench/load_test.sh --explain``, or by hand with
DATABASE_URL set.
"""
import os
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
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

from diagnostics.worklists import awaiting_review  # noqa: E402
from patients.history import counted_specimens_of  # noqa: E402

DOCTOR = "syn-doctor-01"


def slowest_query(client, name, url):
    """Open the page twice (the first warms per-process caches); report the second."""
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    queries = captured.captured_queries
    sql_ms = sum(float(query["time"]) for query in queries) * 1000
    print(f"{name} {url}: {elapsed * 1000:.0f} ms in the view, {len(queries)} queries, "
          f"{sql_ms:.0f} ms of SQL")
    return max(queries, key=lambda query: float(query["time"]))["sql"]


def explain_analyze(sql):
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def main():
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to the load test's PostgreSQL database.")
    doctor = User.objects.get(username=DOCTOR)
    specimen = awaiting_review(doctor).first()
    pages = {"worklist": "/worklist/", "specimen": specimen.get_absolute_url(),
             "patient history": specimen.patient.get_absolute_url()}
    client = Client()
    client.force_login(doctor)
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        slowest = {name: slowest_query(client, name, url) for name, url in pages.items()}
    worklist = explain_analyze(slowest["worklist"])
    print(f"\nEXPLAIN ANALYZE: the worklist's slowest query\n{worklist}")
    history = counted_specimens_of(specimen.patient_id).explain(analyze=True, buffers=True)
    print(f"\nEXPLAIN ANALYZE: the patient history's specimens\n{history}")


if __name__ == "__main__":
    main()
