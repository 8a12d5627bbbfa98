"""Tiny helpers that read the settings' environment variables, each with a default.

They only read: importing celinsight.settings creates no folder and writes no file.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_float(name, default):
    return float(os.environ.get(name, default))


def env_list(name, default=""):
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_path(name, default):
    return Path(os.environ.get(name, default))


def var_dir():
    """CELINSIGHT_VAR_DIR, where the embedded defaults keep their files (default var/)."""
    return env_path("CELINSIGHT_VAR_DIR", BASE_DIR / "var")


def demo_secret_key_file():
    """Where the demo keeps its random secret key when SECRET_KEY is not set."""
    return var_dir() / "secret_key"


def file_text(path):
    """The text of ``path`` without surrounding white space; "" where there is no such file."""
    try:
        return Path(path).read_text().strip()
    except FileNotFoundError:
        return ""
