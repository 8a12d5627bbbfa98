"""CelInsight settings: one module for every environment, switched by environment variables.

Unset variables give the embedded defaults (SQLite, local files, a broker that needs no
server) so the product runs on a fresh machine with nothing else. Importing this module
only reads: it creates no folder and writes no file (see celinsight/local_files.py for
what does, and when).
"""
import os
import secrets

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from celinsight.env import (
    BASE_DIR, demo_secret_key_file, env_bool, env_float, env_int, env_list, env_path, env_str,
    file_text, var_dir,
)

# --- Switches and secrets ---------------------------------------------------------------
VAR_DIR = var_dir()
DEBUG = env_bool("CELINSIGHT_DEBUG", False)
DEMO_MODE = env_bool("CELINSIGHT_DEMO", False)
# CELINSIGHT_PRODUCTION=1 turns on everything `manage.py check --deploy` asks for. It
# assumes a TLS-terminating proxy in front that sets X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER).
PRODUCTION = env_bool("CELINSIGHT_PRODUCTION", False)
# The demo's key lives in var/secret_key (manage.py writes it), so its processes share it
# and sessions survive restarts; a process that finds no key at all draws one of its own.
SECRET_KEY = (env_str("SECRET_KEY") or file_text(demo_secret_key_file())
              or secrets.token_urlsafe(50))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
if PRODUCTION:
    DEBUG = False
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 50 or SECRET_KEY == file_text(demo_secret_key_file()):
        raise ImproperlyConfigured(
            "CELINSIGHT_PRODUCTION=1 needs SECRET_KEY in the environment: at least 50 random "
            "characters, not the demo key in var/secret_key. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "CELINSIGHT_PRODUCTION=1 needs ALLOWED_HOSTS, e.g. ALLOWED_HOSTS=celinsight.example.org"
        )

# --- Applications ------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian", "axes", "auditlog", "csp", "django_otp", "django_otp.plugins.otp_totp",
    "accounts", "patients", "imaging", "diagnostics", "cases",
    "rest_framework", "rest_framework.authtoken", "corsheaders", "drf_spectacular",
    "drf_spectacular_sidecar", "api", "backups",
]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.idle_sessions.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.audit.AuditMiddleware",  # auditlog's, with the proxy rule for addresses
    "axes.middleware.AxesMiddleware",
    "accounts.security_log.PermissionDeniedLogMiddleware",
]

ROOT_URLCONF = "celinsight.urls"
WSGI_APPLICATION = "celinsight.wsgi.application"

FORM_RENDERER = "celinsight.form_renderer.FastWidgetRenderer"

CONTEXT_PROCESSORS = [
    "django.template.context_processors.request",
    "django.contrib.auth.context_processors.auth",
    "django.contrib.messages.context_processors.messages",
    "accounts.context_processors.roles",
]
TEMPLATES = [
    # The pages: Jinja2 (celinsight/page_templates.py says why).
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "celinsight.page_templates.environment",
                    "context_processors": [*CONTEXT_PROCESSORS,
                                           "celinsight.page_templates.csrf_field_once"]},
    },
    # The admin's and the signed report's plain text.
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": CONTEXT_PROCESSORS},
    },
]

# --- Database ----------------------------------------------------------------------------
# SQLite under var/ unless DATABASE_URL=postgres://user:password@host:5432/name.
if env_str("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(
        env_str("DATABASE_URL"),
        conn_max_age=env_int("CELINSIGHT_DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # No JIT compilation: the pages' queries take milliseconds, but the visibility
        # subqueries' estimates pass jit_above_cost, and compiling took 25-30 ms a query
        # (the worklist: 56 ms with JIT, 25 ms without; bench/README.md, load test).
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
        # Django's backend, preparing the queries a connection sends again and again
        # (celinsight/postgresql/prepared.py); CELINSIGHT_DB_PREPARED_STATEMENTS=0 behind a
        # pooler in transaction mode, which does not keep a session's statements.
        DATABASES["default"]["ENGINE"] = "celinsight.postgresql"
else:
    # SQLite waits for the worker's writes instead of failing with "database is locked".
    DATABASES = {"default": {
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
    }}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DB_PREPARED_STATEMENTS = env_bool("CELINSIGHT_DB_PREPARED_STATEMENTS", True)

# --- Accounts: login, lockout, sessions, permissions, two-factor -------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.OneQueryModelBackend",  # ModelBackend, permissions in one query
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

# Sessions end after this many idle minutes: requests push the expiry forward, at most
# once every SESSION_REFRESH_SECONDS (accounts.idle_sessions), not with a write per request.
SESSION_IDLE_MINUTES = env_int("CELINSIGHT_SESSION_IDLE_MINUTES", 15)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_ENGINE = "accounts.sessions"  # Django's database sessions, read by compiled SQL
SESSION_REFRESH_SECONDS = 60
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
# The specimen page's gallery polls every 3 s for Grad-CAM overlays: a poll is logged as a
# read of the specimen only when its user has no read of it logged in this many minutes.
AUDIT_POLL_READ_MINUTES = env_int("CELINSIGHT_AUDIT_POLL_READ_MINUTES", 10)

# Two-factor login (django-otp, TOTP): a user with a confirmed device enters a code after
# the password. With this switch on, the admin site only admits staff who did.
CELINSIGHT_REQUIRE_ADMIN_OTP = env_bool("CELINSIGHT_REQUIRE_ADMIN_OTP", PRODUCTION)
OTP_TOTP_ISSUER = "CelInsight"

# --- HTTPS, cookies and browser security --------------------------------------------------
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_SSL_REDIRECT = env_bool("CELINSIGHT_SSL_REDIRECT", PRODUCTION)
if PRODUCTION:
    # Only safe behind a proxy that overwrites this header on every request.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# No script reads the token: htmx's POSTs (cell reviews) send the form's token field, or
# the page's token in an hx-headers attribute.
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Proxies in front that append the address they saw to X-Forwarded-For (docker/: 1, the TLS
# proxy); with 0 the header is ignored, so no client picks its own address. One rule for the
# API's throttles, the audit log, django-axes and the security log (accounts/audit.py).
TRUSTED_PROXIES = env_int("CELINSIGHT_TRUSTED_PROXIES", 0)
AXES_CLIENT_IP_CALLABLE = "accounts.audit.client_address"

# Content-Security-Policy on every response, in development too, so a page that needs
# more than this fails in tests. Scripts and styles come only from static/; no template has
# a style attribute or <style> (charts are SVG drawn by the server; htmx's own indicator
# <style> is switched off in base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Language and time -------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
# English only: no translation machinery (about 5% of a page's CPU went to looking up the
# active language for each number and date rendered; bench/README.md, load test).
USE_I18N = False
USE_TZ = True

# The laboratory named on every printed report (header of the Bethesda report).
CELINSIGHT_LAB_NAME = env_str("CELINSIGHT_LAB_NAME", "CelInsight Demo Cytology Laboratory")
CELINSIGHT_LAB_ADDRESS = env_str("CELINSIGHT_LAB_ADDRESS", "1 Example Street, Demo City")

# --- Static files and stored images ------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = env_path("CELINSIGHT_MEDIA_ROOT", VAR_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# STORAGE_BACKEND=s3: images and heat maps in an S3 bucket (AWS, MinIO, ...), encrypted at
# rest. Access keys come from the standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
# Static files stay local, served by WhiteNoise.
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "local")
if STORAGE_BACKEND == "s3":
    S3_SERVER_SIDE_ENCRYPTION = env_str("CELINSIGHT_S3_SSE", "AES256")  # or aws:kms
    AWS_S3_OBJECT_PARAMETERS = {"ServerSideEncryption": S3_SERVER_SIDE_ENCRYPTION}
    if S3_SERVER_SIDE_ENCRYPTION == "aws:kms" and env_str("CELINSIGHT_S3_KMS_KEY_ID"):
        AWS_S3_OBJECT_PARAMETERS["SSEKMSKeyId"] = env_str("CELINSIGHT_S3_KMS_KEY_ID")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("CELINSIGHT_S3_BUCKET"),
            "endpoint_url": env_str("CELINSIGHT_S3_ENDPOINT_URL") or None,
            "region_name": env_str("CELINSIGHT_S3_REGION") or None,
            "location": env_str("CELINSIGHT_S3_PREFIX", "media"),
            "object_parameters": AWS_S3_OBJECT_PARAMETERS,
            # Patient images are private: no ACL, links signed and short-lived.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            # Like the local storage, a name that exists gets a new one, never overwritten.
            "file_overwrite": False,
            # MinIO and other S3-compatible stores on a custom endpoint need path-style URLs.
            "addressing_style": env_str(
                "CELINSIGHT_S3_ADDRESSING_STYLE",
                "path" if env_str("CELINSIGHT_S3_ENDPOINT_URL") else "auto",
            ),
            "signature_version": "s3v4",
        },
    }
elif STORAGE_BACKEND != "local":
    raise ValueError(f"STORAGE_BACKEND={STORAGE_BACKEND!r}: use 'local' (the default) or 's3'")

# --- Uploads -----------------------------------------------------------------------------
# Limits applied to every image, whether sent alone or inside a .zip.
UPLOAD_MAX_FILE_BYTES = env_int("CELINSIGHT_UPLOAD_MAX_FILE_BYTES", 25 * 1024 * 1024)
UPLOAD_MAX_IMAGE_PIXELS = env_int("CELINSIGHT_UPLOAD_MAX_IMAGE_PIXELS", 40_000_000)
UPLOAD_MIN_IMAGE_SIDE = env_int("CELINSIGHT_UPLOAD_MIN_IMAGE_SIDE", 32)  # smaller holds no cell
UPLOAD_MAX_FILES_PER_BATCH = env_int("CELINSIGHT_UPLOAD_MAX_FILES", 1000)
UPLOAD_MAX_ZIP_BYTES = env_int("CELINSIGHT_UPLOAD_MAX_ZIP_BYTES", 1024 * 1024 * 1024)
# A whole slide (.svs, .ndpi, pyramidal .tif) is streamed to storage, never read into memory.
UPLOAD_MAX_SLIDE_BYTES = env_int("CELINSIGHT_UPLOAD_MAX_SLIDE_BYTES", 8 * 1024 ** 3)
DATA_UPLOAD_MAX_NUMBER_FILES = UPLOAD_MAX_FILES_PER_BATCH
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Videos (MP4, AVI): one frame is kept every this many seconds (imaging/video.py caps the count).
VIDEO_FRAME_INTERVAL_SECONDS = env_float("CELINSIGHT_VIDEO_FRAME_INTERVAL_SECONDS", "1.0")

# --- Fields of view ----------------------------------------------------------------------
# An uploaded image this large on its long side is taken for a field of view (the worker finds
# its cells) unless the uploader says otherwise; a smaller one for one cell crop.
FIELD_MIN_LONG_SIDE_PX = env_int("CELINSIGHT_FIELD_MIN_LONG_SIDE_PX", 512)
# The nucleus detector the workers run on fields (diagnostics/engine/cell_detector.py).
DETECTOR_DIR = env_path(
    "CELINSIGHT_DETECTOR_DIR", BASE_DIR / "diagnostics" / "trained_models" / "detector"
)
# Side of the square crop cut around each detected nucleus: CRIC's squamous cells are about
# 60-150 px across at its magnification (diagnostics.engine.crops.DEFAULT_CROP_SIZE).
CELL_CROP_PX = env_int("CELINSIGHT_CELL_CROP_PX", 128)
# Detections scored below this are not cut nor classified (0: all the detector reports).
DETECTOR_MIN_SCORE = env_float("CELINSIGHT_DETECTOR_MIN_SCORE", "0")
# A whole slide keeps database rows (with crops) for this many top-scored cells besides every
# flagged one; all its cells are in its Parquet cell table (imaging.models.FieldOfView).
SLIDE_CELL_ROWS = env_int("CELINSIGHT_SLIDE_CELL_ROWS", 200)
# ... and for at most this many flagged cells, the most suspicious first (the Bethesda
# model's abnormal categories where one is served: diagnostics.triage.suspicious_cells), so
# that a slide's 10^4-10^5 cells never become as many rows.
SLIDE_FLAGGED_ROWS = env_int("CELINSIGHT_SLIDE_FLAGGED_ROWS", 1000)
# Video frames as fields: a nucleus within this many pixels of where a tracked cell is
# expected (after the frame-to-frame shift) is that cell again, and is not counted twice.
VIDEO_TRACK_RADIUS_PX = env_float("CELINSIGHT_VIDEO_TRACK_RADIUS_PX", "20")

# --- Classifier --------------------------------------------------------------------------
CLASSIFIER_MODEL_DIR = env_path(
    "CELINSIGHT_MODEL_DIR", BASE_DIR / "diagnostics" / "trained_models" / "default"
)
# The Bethesda cell model served beside it (each cell gets both); a deployment without
# this folder classifies morphology only.
BETHESDA_MODEL_DIR = env_path(
    "CELINSIGHT_BETHESDA_MODEL_DIR", BASE_DIR / "diagnostics" / "trained_models" / "bethesda"
)
# Images per classification task. Each task costs about 20 ms besides its images (claiming,
# saving, rescoring the specimen, fetching the next message): 64 halves that overhead
# against 32 (bench/worker_throughput.py) and still spreads an upload over several workers.
CLASSIFIER_BATCH_SIZE = env_int("CELINSIGHT_CLASSIFIER_BATCH_SIZE", 64)
# How the workers' backbone computes: float32 (what the model was validated in), bfloat16
# (about twice as fast on CPUs with native bfloat16: Intel AMX / AVX-512 BF16) or auto
# (bfloat16 where native). bench/precision_experiment.py measures what it changes.
CLASSIFIER_INFERENCE_PRECISION = env_str("CELINSIGHT_INFERENCE_PRECISION", "float32")
# Where training and the workers compute: auto (a CUDA GPU when there is one, else the CPU),
# cpu, or cuda. Workers serving a model with backbone.onnx use ONNX Runtime's CUDA provider
# (needs onnxruntime-gpu); asked for cuda where there is none, they log a warning and use the
# CPU, and training stops with an error saying so.
CLASSIFIER_DEVICE = env_str("CELINSIGHT_DEVICE", "auto")
# A result queued or running for this long was lost (a worker died, a message vanished):
# the beat schedule sends it again.
CLASSIFIER_STALE_AFTER_MINUTES = env_int("CELINSIGHT_CLASSIFIER_STALE_AFTER_MINUTES", 10)

# --- Celery ------------------------------------------------------------------------------
# The default broker is a folder on disk, so no Redis is needed; CELERY_BROKER_URL=redis://...
# switches to Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "celery-broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "celinsight.local_files:FolderBroker"  # makes its folders
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        "control_folder": str(VAR_DIR / "celery-control"),
        "store_processed": False,
        # Look for new messages every 0.1 s instead of kombu's 1 s: a prefork worker took
        # each batch only at the next poll (63 images/s with 2 processes, 2,000 cells).
        "polling_interval": 0.1,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an unacknowledged message (its worker died) to another worker after this
    # many seconds; it must exceed the longest task, or a slow batch would run twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELINSIGHT_REDIS_VISIBILITY_TIMEOUT", 3600),
    }
    CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# A worker killed mid-task must not lose its message: with acks_late the message is only
# acknowledged when the task ends, and a lost child process puts it back on the queue.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-results": {"task": "diagnostics.requeue_stale_results", "schedule": 300.0},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# --- Logging, security alerts and mail ---------------------------------------------------
# Failed logins, lockouts, failed two-factor codes and refusals (accounts/security_log.py)
# also go to their own file, one JSON object per line with every value escaped, opened at
# its first line; in production the root logger's console handler copies them to stderr.
SECURITY_LOG_FILE = env_path("CELINSIGHT_SECURITY_LOG", VAR_DIR / "security.log")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"security": {"()": "accounts.log_format.JsonLinesFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "security_file": {"class": "celinsight.local_files.FileHandlerCreatingItsFolder",
                          "filename": str(SECURITY_LOG_FILE), "formatter": "security"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celinsight.security": {
            "handlers": ["security_file"], "level": "INFO", "propagate": PRODUCTION,
        },
    },
}
# Refusals (records a user may not see, 401, 403, 429, failed logins): at most this many
# lines per user or address a minute, the rest counted. This many within the window raise
# one alert per window: a mail to the administrators and a dashboard panel
# (accounts/security_alerts.py).
SECURITY_LOG_LINES_PER_MINUTE = env_int("CELINSIGHT_SECURITY_LOG_LINES_PER_MINUTE", 20)
SECURITY_ALERT_THRESHOLD = env_int("CELINSIGHT_SECURITY_ALERT_THRESHOLD", 20)
SECURITY_ALERT_WINDOW_MINUTES = env_int("CELINSIGHT_SECURITY_ALERT_WINDOW_MINUTES", 10)
# Alerts go to active administrators with an address and to CELINSIGHT_ALERT_EMAILS;
# without EMAIL_HOST, mails are printed on the console.
ADMINS = [("", email) for email in env_list("CELINSIGHT_ALERT_EMAILS")]
DEFAULT_FROM_EMAIL = SERVER_EMAIL = env_str("CELINSIGHT_FROM_EMAIL", "celinsight@localhost")
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_USER"), env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS, EMAIL_TIMEOUT = env_bool("EMAIL_USE_TLS", True), 10
if not EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Backups -----------------------------------------------------------------------------
# `manage.py backup_data` writes the database and its stored files, at one point in time,
# encrypted with CELINSIGHT_BACKUP_KEY (Fernet; several, comma-separated, to rotate: the
# first encrypts), to a folder or s3://bucket/prefix; `restore_data` brings them back.
SERIALIZATION_MODULES = {"celinsight-jsonl": "backups.serializer"}
BACKUP_KEY = env_str("CELINSIGHT_BACKUP_KEY")
BACKUP_DESTINATION = env_str("CELINSIGHT_BACKUP_DESTINATION")
BACKUP_S3_ENDPOINT_URL = (env_str("CELINSIGHT_BACKUP_S3_ENDPOINT_URL")
                          or env_str("CELINSIGHT_S3_ENDPOINT_URL"))
BACKUP_S3_REGION = env_str("CELINSIGHT_BACKUP_S3_REGION") or env_str("CELINSIGHT_S3_REGION")
BACKUP_S3_ACCESS_KEY_ID = env_str("CELINSIGHT_BACKUP_S3_ACCESS_KEY_ID")
BACKUP_S3_SECRET_ACCESS_KEY = env_str("CELINSIGHT_BACKUP_S3_SECRET_ACCESS_KEY")

# --- REST API ----------------------------------------------------------------------------
# /api/ (api/): token authentication for scripts and LIMS, session authentication for the
# interactive docs; the pages' object permissions (accounts/access.py) and role permissions.
API_PAGE_SIZE = env_int("CELINSIGHT_API_PAGE_SIZE", 25)
# Tokens last this many hours (api/authentication.py); logout, a lockout and a password
# change revoke them sooner (accounts/api_tokens.py).
API_TOKEN_HOURS = env_int("CELINSIGHT_API_TOKEN_HOURS", 12)
REST_FRAMEWORK = {
    # Token first: a request without credentials gets 401 with "WWW-Authenticate: Token".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.RolePermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": API_PAGE_SIZE,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.json_exception_handler",  # JSON for too-large bodies
    # Every endpoint is throttled; token requests and uploads add a stricter rate of their own.
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.AnonThrottle", "api.throttles.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("CELINSIGHT_API_ANON_RATE", "30/min"),
        "user": env_str("CELINSIGHT_API_USER_RATE", "600/min"),
        "login": env_str("CELINSIGHT_API_LOGIN_RATE", "10/min"),
        "upload": env_str("CELINSIGHT_API_UPLOAD_RATE", "60/hour"),
    },
}
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXIES
# Throttle counts live in the cache. The default cache is each process's own memory, so
# behind several web processes (gunicorn workers) every process would count on its own:
# CELINSIGHT_CACHE_URL=redis://host:6379/1 shares one count between them.
if env_str("CELINSIGHT_CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": env_str("CELINSIGHT_CACHE_URL"),
                          "KEY_PREFIX": "celinsight"}}

# Cross-origin requests only to /api/, only from the listed origins (scheme://host[:port],
# comma-separated); none by default. Tokens travel in a header, so no cookies cross.
CORS_ALLOWED_ORIGINS = env_list("CELINSIGHT_CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False

SPECTACULAR_SETTINGS = {
    "TITLE": "CelInsight API", "VERSION": "1",
    "DESCRIPTION": "Patients, specimens, image uploads, classification results, reviews and "
                   "sign-off. Get a token at /api/auth/token/ and send it as "
                   "`Authorization: Token <key>`.",
    "SERVE_INCLUDE_SCHEMA": False, "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from static/ (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR", "REDOC_DIST": "SIDECAR",
    # A signed report may carry an interpretation that is never chosen anew (migrated "see
    # comment"), so the sign-off output and request use two choice sets: name each.
    "ENUM_NAME_OVERRIDES": {
        "InterpretationEnum": "diagnostics.bethesda.Interpretation",
        "ChoosableInterpretationEnum": "diagnostics.bethesda.CHOOSABLE_INTERPRETATIONS",
    },
}
