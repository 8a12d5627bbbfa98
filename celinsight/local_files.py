"""What creates the files the embedded defaults keep under var/ (CELINSIGHT_VAR_DIR).

The settings only name them: importing the settings creates nothing. Each folder or file
is made where it is first needed: by a management command as it starts (var/ itself and
the demo's secret key), by the folder broker as it connects, by the security log as it
writes its first line. Uploaded files go through Django's storage, which makes its own.
"""
import logging
import os
import secrets
from pathlib import Path

from kombu.transport import filesystem

from celinsight.env import demo_secret_key_file, env_bool, env_str, var_dir


def prepare_var_dir():
    """Create var/ and, unless SECRET_KEY is set (or in production, which refuses it), the
    demo's random secret key in it: then the web server, the worker and every command
    share one key, and sessions survive restarts. manage.py calls this before a command."""
    var_dir().mkdir(parents=True, exist_ok=True)
    if env_str("SECRET_KEY") or env_bool("CELINSIGHT_PRODUCTION"):
        return
    try:  # O_EXCL: of two commands starting at once, one writes the key and both read it
        descriptor = os.open(demo_secret_key_file(), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as key_file:
        key_file.write(secrets.token_urlsafe(50))


class FolderBroker(filesystem.Transport):
    """kombu's filesystem transport, creating its folders as it connects (the settings'
    CELERY_BROKER_TRANSPORT where CELERY_BROKER_URL is filesystem://)."""

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        options = client.transport_options
        for name in ("data_folder_in", "data_folder_out", "control_folder"):
            if options.get(name):
                Path(options[name]).mkdir(parents=True, exist_ok=True)


class FileHandlerCreatingItsFolder(logging.FileHandler):
    """A log file opened, and its folder created, when the first record is written, not
    when logging is configured."""

    def __init__(self, filename, **kwargs):
        super().__init__(filename, delay=True, **kwargs)

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()
