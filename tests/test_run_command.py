"""The README's first command: bin/run sets up, seeds the demo and serves with a worker beside it.

This runs the real thing in a temporary data folder: migrations, demo users, the web server,
and a separate Celery worker process reading the folder broker, which classifies the demo
specimens with the shipped model.
"""
import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_IMAGE_COUNT = 36  # 30 queued for the worker, 6 classified by seed_demo for its signed reports


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"Gave up after {timeout} s waiting for {what}")


def page_is_up(url):
    try:
        return urllib.request.urlopen(url, timeout=2).status == 200
    except OSError:
        return False


def finished_results(database):
    if not database.exists():
        return 0
    with sqlite3.connect(database, timeout=10) as connection:
        try:
            return connection.execute(
                "select count(*) from diagnostics_cellresult where status in ('done', 'failed')"
            ).fetchone()[0]
        except sqlite3.OperationalError:  # tables not migrated yet
            return 0


def log_in(base_url, username, password):
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login_page = opener.open(base_url + "/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(base_url + "/accounts/login/", form,
                                     headers={"Referer": base_url + "/accounts/login/"})
    opener.open(request)
    return opener


@pytest.fixture
def running_product(tmp_path):
    port = free_port()
    output = tmp_path / "run.log"
    env = {**os.environ, "CELINSIGHT_VAR_DIR": str(tmp_path / "var"), "CELINSIGHT_PORT": str(port)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with output.open("w") as log:
        process = subprocess.Popen([ROOT / "bin" / "run"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}", tmp_path / "var", output
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_run_command_serves_the_demo_and_classifies_it(running_product):
    base_url, var_dir, output = running_product
    wait_until(lambda: page_is_up(base_url + "/accounts/login/"), 240, "the web server")
    passwords = dict(re.findall(r"^\s+(\w+)\s+.+password: (\S+)$", output.read_text(), re.M))
    assert set(passwords) == {"labstaff", "cytotech", "doctor", "doctor2", "clinician",
                              "clinician2", "admin"}

    wait_until(lambda: finished_results(var_dir / "db.sqlite3") == DEMO_IMAGE_COUNT, 240,
               f"the worker to classify the demo images ({(var_dir / 'worker.log')})")

    doctor = log_in(base_url, "doctor", passwords["doctor"])
    specimen = doctor.open(base_url + "/specimens/1/").read().decode()
    assert "12 done · 0 failed · 0 running · 0 queued" in specimen
    clinician = log_in(base_url, "clinician", passwords["clinician"])
    patients = clinician.open(base_url + "/patients/").read().decode()
    assert "Maria Example" in patients and "Eva Specimen" not in patients  # another's patient
    report = clinician.open(base_url + "/specimens/5/report/").read().decode()
    assert "Low-grade squamous intraepithelial lesion" in report and "amend" in report
