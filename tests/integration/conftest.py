"""Real worker processes against whatever services the settings point at.

On the embedded defaults that is SQLite and the folder broker; under
bin/integration-services it is PostgreSQL, Redis and an S3 API on loopback.
"""
import io
import os
import signal
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from celinsight.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent.parent


def uses_real_services():
    return (
        os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
        and os.environ.get("CELERY_BROKER_URL", "").startswith("redis://")
        and os.environ.get("CELINSIGHT_CACHE_URL", "").startswith("redis://")
        and os.environ.get("STORAGE_BACKEND") == "s3"
    )


@pytest.fixture
def real_services():
    if not uses_real_services():
        pytest.skip("needs PostgreSQL, Redis (broker and cache) and S3 from the environment: "
                    "run bin/integration-services")


def point_celery_at(url, transport_options):
    """Send tasks from this test process to ``url`` (the session default is memory://)."""
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = transport_options
    celery_app._pool = None  # the next send opens a connection to the new broker
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker_env(tmp_path, transactional_db, media_in_tmp):
    """The environment a worker process needs to see this test's database, broker and files."""
    var_dir = tmp_path / "var"
    env = {**os.environ, "CELINSIGHT_VAR_DIR": str(var_dir),
           "CELINSIGHT_MEDIA_ROOT": str(media_in_tmp), "DJANGO_SETTINGS_MODULE": "celinsight.settings"}
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        env["CELINSIGHT_SQLITE_PATH"] = database["NAME"]
        env.pop("DATABASE_URL", None)
    else:  # the test database pytest-django created, not the one DATABASE_URL names
        credentials = ":".join(urllib.parse.quote(part, safe="")
                               for part in (database["USER"], database["PASSWORD"]) if part)
        env["DATABASE_URL"] = (f"postgres://{credentials}@{database['HOST']}:{database['PORT']}"
                               f"/{database['NAME']}")
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folders = {name: var_dir / name for name in ("celery-broker", "celery-control")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        options = {"data_folder_in": str(folders["celery-broker"]),
                   "data_folder_out": str(folders["celery-broker"]),
                   "control_folder": str(folders["celery-control"]), "store_processed": False}
    else:
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        if settings.CELERY_BROKER_URL.startswith("redis://"):
            purge_redis(settings.CELERY_BROKER_URL)
    point_celery_at(settings.CELERY_BROKER_URL, options)
    yield env
    point_celery_at("memory://", {})


def purge_redis(url):
    """Start from an empty queue: a message left by an earlier test would confuse this one."""
    import redis

    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def start_worker(tmp_path):
    """Start Celery worker processes; each is killed (its whole process group) at the end."""
    started = []

    def start(env, name="worker", command=None):
        log = (tmp_path / f"{name}.log").open("w")
        command = command or [sys.executable, "-m", "celery", "-A", "celinsight", "worker",
                              "--pool=solo", "--loglevel=INFO"]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        process.log_path = tmp_path / f"{name}.log"
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture
def distinct_cells(sample_cell_paths):
    """n different PNG cells: the samples, then copies with one pixel changed."""
    def make(count):
        uploads = []
        for index in range(count):
            path = sample_cell_paths[index % len(sample_cell_paths)]
            image = Image.open(path).convert("RGB")
            image.putpixel((0, 0), (index % 256, index // 256, 7))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            uploads.append(SimpleUploadedFile(f"cell_{index:03}.png", buffer.getvalue(),
                                              content_type="image/png"))
        return uploads
    return make
