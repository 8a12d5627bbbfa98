"""Importing the settings only reads: no folder, no file, whatever var/ holds or lacks."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Unset, so that the embedded defaults apply: SQLite, the folder broker, the demo's key.
SWITCHES = ("SECRET_KEY", "CELINSIGHT_PRODUCTION", "DATABASE_URL", "CELERY_BROKER_URL",
            "STORAGE_BACKEND", "CELINSIGHT_SQLITE_PATH", "CELINSIGHT_MEDIA_ROOT",
            "CELINSIGHT_SECURITY_LOG", "DJANGO_ALLOW_ASYNC_UNSAFE")


def test_importing_the_settings_and_setting_up_django_creates_nothing(tmp_path):
    var_dir = tmp_path / "var"
    env = {name: value for name, value in os.environ.items() if name not in SWITCHES}
    env.update(CELINSIGHT_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="celinsight.settings",
               PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    code = ("import celinsight.settings, django; django.setup(); "
            "from django.conf import settings; assert len(settings.SECRET_KEY) >= 50")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not var_dir.exists()
    assert list(tmp_path.iterdir()) == []
