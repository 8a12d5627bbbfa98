"""Logged-in pathologists and cytotechnologists browsing their queues, specimen and review
pages and patient histories (locust).

Run by bench/load_test.sh, which starts PostgreSQL and gunicorn and sets the LOADTEST_*
variables below. Each simulated pathologist logs in through the login form as one synthetic
doctor (syn-doctor-NN, users shared round-robin when there are more users than doctors), then
loops: worklist → a specimen from it → its review page → that patient's history → sometimes an
older specimen from the history. Each simulated cytotechnologist (class Screener, asked for on
locust's command line; syn-ct-NN) loops: screening queue → a specimen from it → its review
page → that patient's history. Logins are not measured: the statistics start once every user has logged in, and
the run stops after LOADTEST_DURATION seconds (or LOADTEST_MAX_REQUESTS requests).

Environment: LOADTEST_PASSWORD, LOADTEST_DOCTORS (default 10), LOADTEST_THINK ("0.5-2"
seconds between pages, "0" for a closed loop), LOADTEST_DURATION (60), LOADTEST_MAX_REQUESTS
(0: no limit), LOADTEST_REPORT (a file the result table is written to; stdout otherwise).
"""
import itertools
import os
import random
import re
import sys
import time

import gevent
from gevent.event import Event
from locust import FastHttpUser, events, task

PASSWORD = os.environ.get("LOADTEST_PASSWORD", "")
DOCTORS = int(os.environ.get("LOADTEST_DOCTORS", "10"))
THINK = os.environ.get("LOADTEST_THINK", "0.5-2")
DURATION = float(os.environ.get("LOADTEST_DURATION", "60"))
MAX_REQUESTS = int(os.environ.get("LOADTEST_MAX_REQUESTS", "0"))
REPORT = os.environ.get("LOADTEST_REPORT")
TARGET_P95_MS = 150
SCREENERS = int(os.environ.get("LOADTEST_SCREENERS", "4"))
PAGES = ("worklist", "screening queue", "specimen", "review", "patient history")

CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Worklists of trees before the screening queue (98f06ca) link to the review page instead.
SPECIMEN_LINK = re.compile(r'href="/specimens/(\d+)/(?:review/)?"')
PATIENT_LINK = re.compile(r'href="/patients/(\d+)/"')
PAGE_LINK = re.compile(r'href="\?page=(\d+)')

usernames = (f"syn-doctor-{number:02d}" for number in itertools.cycle(range(1, DOCTORS + 1)))
screener_names = (f"syn-ct-{number:02d}" for number in itertools.cycle(range(1, SCREENERS + 1)))
logged_in = []  # seconds each user's login took
all_logged_in = Event()
window = {}  # start and end of the measured window (time.monotonic())


def think_time():
    if THINK in ("", "0"):
        return lambda user: 0
    low, high = (float(bound) for bound in THINK.split("-"))
    return lambda user: random.uniform(low, high)


class Doctor(FastHttpUser):
    wait_time = think_time()
    usernames = usernames

    def on_start(self):
        started = time.monotonic()
        self.log_in(next(self.usernames))
        logged_in.append(time.monotonic() - started)
        if len(logged_in) == self.environment.runner.target_user_count:
            start_measuring(self.environment)
        all_logged_in.wait()
        self.wait()  # users released together would all open the worklist at once

    def log_in(self, username):
        form = self.client.get("/accounts/login/", name="login")
        token = CSRF_TOKEN.search(form.text).group(1)
        with self.client.post("/accounts/login/", name="login", catch_response=True,
                              data={"username": username, "password": PASSWORD,
                                    "csrfmiddlewaretoken": token}) as response:
            if "/accounts/login/" in response.url:
                response.failure(f"{username} could not log in (wrong password, or locked out)")
                raise RuntimeError(f"{username} could not log in; was the load generated "
                                   f"with this password?")

    @task
    def browse(self):
        specimen_ids = self.open_worklist()
        if not specimen_ids:
            return
        self.wait()
        specimen_id = random.choice(specimen_ids)
        patient_id = self.open_specimen(specimen_id)
        self.wait()
        self.open_review(specimen_id)
        self.wait()
        older = [number for number in self.open_history(patient_id) if number not in specimen_ids]
        if older and random.random() < 0.5:
            self.wait()
            self.open_specimen(random.choice(older))

    def open_worklist(self):
        """Page 1 mostly, now and then a later page; returns the specimen ids listed."""
        pages = getattr(self, "worklist_pages", [])
        url = "/worklist/"
        if pages and random.random() < 0.2:
            url += f"?page={random.choice(pages)}"
        html = self.get_page(url, "worklist", "Awaiting my review")
        self.worklist_pages = sorted({int(number) for number in PAGE_LINK.findall(html)})
        return [int(number) for number in SPECIMEN_LINK.findall(html)]

    def open_specimen(self, specimen_id):
        html = self.get_page(f"/specimens/{specimen_id}/", "specimen", "Images and results")
        found = PATIENT_LINK.search(html)
        return int(found.group(1)) if found else None

    def open_review(self, specimen_id):
        self.get_page(f"/specimens/{specimen_id}/review/", "review", "Review specimen")

    def open_history(self, patient_id):
        if patient_id is None:
            return []
        html = self.get_page(f"/patients/{patient_id}/", "patient history", "<h2>History</h2>")
        return [int(number) for number in SPECIMEN_LINK.findall(html)]

    def get_page(self, url, name, marker):
        """The page's HTML; a failure unless it is the page asked for (not the login form)."""
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code == 200 and marker not in (response.text or ""):
                response.failure(f"{name}: expected page not shown (landed on {response.url})")
                return ""
            return response.text or ""


class Screener(Doctor):
    """A cytotechnologist: the lab's screening queue instead of the pathologist's worklist."""

    usernames = screener_names

    def open_worklist(self):
        pages = getattr(self, "worklist_pages", [])
        url = "/cases/queue/"
        if pages and random.random() < 0.2:
            url += f"?page={random.choice(pages)}"
        html = self.get_page(url, "screening queue", "Screening queue")
        self.worklist_pages = sorted({int(number) for number in PAGE_LINK.findall(html)})
        return [int(number) for number in SPECIMEN_LINK.findall(html)]


def start_measuring(environment):
    """Every user has logged in: reset the statistics and stop after the fixed duration."""
    environment.runner.stats.reset_all()
    window["start"] = time.monotonic()
    all_logged_in.set()
    gevent.spawn_later(DURATION, stop, environment)
    if MAX_REQUESTS:
        gevent.spawn(stop_at_request_count, environment)


def stop(environment):
    window.setdefault("end", time.monotonic())
    environment.runner.quit()


def stop_at_request_count(environment):
    while environment.runner.stats.total.num_requests < MAX_REQUESTS:
        gevent.sleep(0.2)
    stop(environment)


@events.quitting.add_listener
def write_report(environment, **kwargs):
    if "start" not in window:
        print("The run ended before every user had logged in: no figures.", file=sys.stderr)
        return
    seconds = window.get("end", time.monotonic()) - window["start"]
    lines = result_table(environment.runner.stats, seconds)
    text = "\n".join(lines) + "\n"
    if REPORT:
        with open(REPORT, "w") as report:
            report.write(text)
    else:
        print(text)


def result_table(stats, seconds):
    think = "none (closed loop)" if THINK in ("", "0") else f"{THINK} s between pages"
    users = len(logged_in)
    lines = [
        f"{users} users, think time {think}, measured {seconds:.1f} s "
        f"(logins before that: median {sorted(logged_in)[users // 2]:.2f} s, "
        f"slowest {max(logged_in):.2f} s)",
        f"{'page':<16}{'requests':>9}{'failures':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'max ms':>8}{'req/s':>8}  p95 ≤ {TARGET_P95_MS} ms",
    ]
    entries = [stats.get(name, "GET") for name in PAGES
               if stats.get(name, "GET").num_requests] + [stats.total]
    for entry in entries:
        name = "all pages" if entry is stats.total else entry.name
        p95 = entry.get_response_time_percentile(0.95) if entry.num_requests else 0
        verdict = "" if entry is stats.total else ("yes" if p95 <= TARGET_P95_MS else "NO")
        lines.append(
            f"{name:<16}{entry.num_requests:>9}{entry.num_failures:>9}"
            f"{percentile(entry, 0.5):>8}{p95:>8.0f}{percentile(entry, 0.99):>8}"
            f"{entry.max_response_time or 0:>8.0f}{entry.num_requests / seconds:>8.1f}  {verdict}")
    for error in stats.errors.values():
        lines.append(f"  {error.occurrences}× {error.method} {error.name}: {error.error}")
    return lines


def percentile(entry, share):
    return f"{entry.get_response_time_percentile(share):.0f}" if entry.num_requests else "-"
