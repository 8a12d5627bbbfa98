import os
import secrets
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def run_manage(args, **env):
    environment = {**os.environ, "CELINSIGHT_PRODUCTION": "1", "OMP_NUM_THREADS": "1", **env}
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests
    for name in ("SECRET_KEY", "ALLOWED_HOSTS"):
        if environment.get(name) is None:
            environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=environment,
        capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_finds_nothing_with_production_settings():
    result = run_manage(
        ["check", "--deploy"], SECRET_KEY=secrets.token_urlsafe(50)[:50], ALLOWED_HOSTS="example.org"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNINGS" not in output and "?:" not in output


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage(["check"], SECRET_KEY=None, ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "needs SECRET_KEY in the environment" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = run_manage(["check"], SECRET_KEY="too-short", ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "needs SECRET_KEY" in result.stderr


def test_production_needs_allowed_hosts():
    result = run_manage(["check"], SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS=None)
    assert result.returncode != 0
    assert "needs ALLOWED_HOSTS" in result.stderr


def test_pages_forbid_framing_and_send_a_referrer_policy(client, db):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_production_refuses_the_demo_secret_key(tmp_path):
    demo_key = secrets.token_urlsafe(50)
    (tmp_path / "secret_key").write_text(demo_key)
    result = run_manage(
        ["check"], SECRET_KEY=demo_key, ALLOWED_HOSTS="example.org", CELINSIGHT_VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "not the demo key" in result.stderr
