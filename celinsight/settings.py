"""CelInsight settings: one module, switched by environment variables.

Unset variables give the embedded defaults (SQLite, local files, a broker that
needs no server) so the product runs on a fresh machine with nothing else.
"""
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CELINSIGHT_VAR_DIR", BASE_DIR / "var"))


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_list(name, default=""):
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def demo_secret_key():
    """A random key kept under var/, so sessions survive restarts of the demo."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


DEBUG = env_bool("CELINSIGHT_DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or demo_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
DEMO_MODE = env_bool("CELINSIGHT_DEMO", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "axes",
    "auditlog",
    "accounts",
    "patients",
    "imaging",
    "diagnostics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "celinsight.urls"
WSGI_APPLICATION = "celinsight.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
            ],
        },
    },
]

# SQLite waits for the worker's writes instead of failing with "database is locked".
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("CELINSIGHT_SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # A file (threads of live-server and worker tests share it), one per test run so
        # that two runs side by side never write to the same database.
        "TEST": {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after this many idle minutes: every request pushes the expiry forward.
SESSION_IDLE_MINUTES = env_int("CELINSIGHT_SESSION_IDLE_MINUTES", 15)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

AXES_FAILURE_LIMIT = env_int("CELINSIGHT_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("CELINSIGHT_LOCKOUT_HOURS", 1)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# Accounts are locked by username. Locking by IP address too would lock out a whole
# lab that reaches the server through one NAT address after one person's typos.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

ANONYMOUS_USER_NAME = None  # django-guardian: no anonymous object permissions
GUARDIAN_RAISE_403 = False

AUDITLOG_INCLUDE_ALL_MODELS = False

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("CELINSIGHT_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploads: limits applied to every image, whether sent alone or inside a .zip.
UPLOAD_MAX_FILE_BYTES = env_int("CELINSIGHT_UPLOAD_MAX_FILE_BYTES", 25 * 1024 * 1024)
UPLOAD_MAX_IMAGE_PIXELS = env_int("CELINSIGHT_UPLOAD_MAX_IMAGE_PIXELS", 40_000_000)
UPLOAD_MAX_FILES_PER_BATCH = env_int("CELINSIGHT_UPLOAD_MAX_FILES", 1000)
UPLOAD_MAX_ZIP_BYTES = env_int("CELINSIGHT_UPLOAD_MAX_ZIP_BYTES", 1024 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FILES = UPLOAD_MAX_FILES_PER_BATCH
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Videos (MP4, AVI): one frame is kept every this many seconds (imaging/video.py caps the count).
VIDEO_FRAME_INTERVAL_SECONDS = float(env_str("CELINSIGHT_VIDEO_FRAME_INTERVAL_SECONDS", "1.0"))

CLASSIFIER_MODEL_DIR = Path(
    env_str("CELINSIGHT_MODEL_DIR", str(BASE_DIR / "diagnostics" / "trained_models" / "default"))
)
CLASSIFIER_BATCH_SIZE = env_int("CELINSIGHT_CLASSIFIER_BATCH_SIZE", 32)

# Celery: the default broker is a folder on disk, so no Redis is needed;
# CELERY_BROKER_URL=redis://... switches to Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "celery-broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for folder in (CELERY_BROKER_FOLDER, VAR_DIR / "celery-control"):
        folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        "control_folder": str(VAR_DIR / "celery-control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A result queued or running for this long was lost (a worker died, a message vanished):
# the beat schedule sends it again.
CLASSIFIER_STALE_AFTER_MINUTES = env_int("CELINSIGHT_CLASSIFIER_STALE_AFTER_MINUTES", 10)
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-results": {"task": "diagnostics.requeue_stale_results", "schedule": 300.0},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
