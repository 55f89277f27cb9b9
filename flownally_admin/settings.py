"""One settings module, driven by the environment (django-environ) and an optional `.env`.

The defaults are the embedded mode: a SQLite file and a broker on the local
filesystem, so `make run` needs no server. Production sets DATABASE_URL,
CELERY_BROKER_URL, SECRET_KEY and ALLOWED_HOSTS.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from flownally_admin.storage import StorageConfigError, storage_config

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
# A developer's local settings (`make run` writes a `.env` on first use), read into the
# environment without overriding what is already set there. FLOWNALLY_ENV_FILE names
# another file; empty reads none, as the test suite does (pyproject.toml).
_env_file = env.str("FLOWNALLY_ENV_FILE", default=str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    environ.Env.read_env(_env_file)
# Everything the embedded mode writes (SQLite file, uploads, queue) lives here.
VAR_DIR = Path(env.str("FLOWNALLY_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-used-only-with-debug-on"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "flownally_admin.apps.FlownallyAdminConfig",  # django.contrib.admin, with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "flownally_admin.tenancy",
    "flownally_admin.api",
    "customfields",
    "contacts",
    "tags",
    "events",
    "webhooks",
    "exports",
]

MIDDLEWARE = [
    "flownally_admin.api.tracing.TraceparentMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "events.context.EventOriginMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "flownally_admin.urls"
WSGI_APPLICATION = "flownally_admin.wsgi.application"
ASGI_APPLICATION = "flownally_admin.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'flownally.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while the worker writes; IMMEDIATE
    # transactions plus a busy timeout turn lock contention into waiting.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    # Off (Django's default): the check is a round trip before each request's first query.
    # Without it a connection the server dropped fails one request per web process.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
    # No JIT: every query here is short, and a tenant being filled has no statistics, so a
    # misestimated probe could be compiled for longer than it runs (bench/README.md).
    # `?options=…` in DATABASE_URL overrides this.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "tenancy.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` gathers the admin's and the API docs' assets here at deploy
# time; WhiteNoise serves them from the web process, so gunicorn alone serves a styled admin.
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # before the first collectstatic, too
STATICFILES_DIRS = [BASE_DIR / "static"]  # the admin's look: its stylesheet, script, icon
# Files WhiteNoise serves at the site's root, where browsers ask for them (/favicon.ico).
WHITENOISE_ROOT = BASE_DIR / "public"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# --- Storage of uploads and exports -------------------------------------------
# The local folder MEDIA_ROOT, unless STORAGE_URL (s3://bucket/prefix?endpoint_url=…) or
# AWS_STORAGE_BUCKET_NAME names an S3 bucket, which web and worker machines then share.
# Credentials stay in the environment, where boto3 reads them (flownally_admin/storage.py).
try:
    _default_storage = storage_config(
        url=env.str("STORAGE_URL", default=""),
        bucket=env.str("AWS_STORAGE_BUCKET_NAME", default=""),
        location=env.str("AWS_LOCATION", default=""),
        endpoint_url=env.str("AWS_S3_ENDPOINT_URL", default=""),
        region=env.str("AWS_S3_REGION_NAME", default=""),
    )
except StorageConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Health probes arrive over plain HTTP from the orchestrator.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- API ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "flownally_admin.api.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "flownally_admin.api.permissions.HasOperationScope",
    ],
    "DEFAULT_PARSER_CLASSES": ["flownally_admin.api.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["flownally_admin.api.renderers.ApiJSONRenderer"],
    "EXCEPTION_HANDLER": "flownally_admin.api.problems.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["flownally_admin.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Flownally Contacts API",
    "DESCRIPTION": "Customer profiles, channel identities, tags, custom fields and imports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/v1",
    # Request and response bodies are separate serializers already; no split copies
    # (which would be named CreateContactRequestRequest) and no Patched* variants.
    "COMPONENT_SPLIT_REQUEST": False,
    "COMPONENT_SPLIT_PATCH": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Three choice sets of fields named `type`: each its own name, the same everywhere.
    "ENUM_NAME_OVERRIDES": {
        "EventTypeEnum": "events.types.EventType.values",
        "ActorTypeEnum": "events.types.ACTOR_TYPES",
        "ValueTypeEnum": "customfields.types.TYPE_NAMES",
        "ChannelEnum": "contacts.models.Channel.values",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "flownally_admin.api.schema.close_request_bodies",
        "flownally_admin.api.schema.require_nonempty_bodies",
    ],
}

# Per API key, in DRF's "N/s|m|h|d" form; counted in the default cache.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="20000/min")
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# Contract §5: JSON bodies over 1 MiB are refused with 413.
API_MAX_JSON_BODY_BYTES = env.int("API_MAX_JSON_BODY_BYTES", default=1024 * 1024)
# How long the change events (sync feed, history, webhooks) are kept.
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=30)
# Finished webhook deliveries (their statuses and last errors) are kept as long as events.
WEBHOOK_DELIVERIES_RETENTION_DAYS = env.int("WEBHOOK_DELIVERIES_RETENTION_DAYS", default=30)
# lastUsedAt is written at most this often per key, so reads do not all become writes.
API_KEY_LAST_USED_RESOLUTION_SECONDS = 60

# Contact imports (contract §4): limits, and how much work one batch transaction holds.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=512 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=1_048_576)
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=200)
IMPORT_MAX_CELL_BYTES = env.int("IMPORT_MAX_CELL_BYTES", default=32 * 1024)
# Progress is saved with each batch; the contract asks for at least every 10,000 rows.
IMPORT_BATCH_ROWS = env.int("IMPORT_BATCH_ROWS", default=10_000)
# From how many bytes left to import (~20,000 rows) the rows are checked by a child process
# of the worker instead of a thread (contacts/importing/checking.py).
IMPORT_CHECK_PROCESS_BYTES = env.int("IMPORT_CHECK_PROCESS_BYTES", default=2 * 1024 * 1024)
IMPORT_MAX_CONCURRENT = env.int("IMPORT_MAX_CONCURRENT", default=3)  # queued or running, per tenant
# A running import's worker renews its lease every quarter of this; a lease that lapses
# (the worker died) lets the sweep below hand the import to another worker.
IMPORT_LEASE_SECONDS = env.int("IMPORT_LEASE_SECONDS", default=20)

# --- Exports ----------------------------------------------------------------
EXPORT_RETENTION_HOURS = env.int("EXPORT_RETENTION_HOURS", default=24)  # then the file goes
EXPORT_MAX_CONCURRENT = env.int("EXPORT_MAX_CONCURRENT", default=3)  # queued or running, per tenant
# A worker renews its lease as it writes; one that stops is noticed within this, and the
# export is written again from the start, at most EXPORT_MAX_ATTEMPTS times.
EXPORT_LEASE_SECONDS = env.int("EXPORT_LEASE_SECONDS", default=30)
EXPORT_MAX_ATTEMPTS = env.int("EXPORT_MAX_ATTEMPTS", default=3)
EXPORT_CHUNK_ROWS = env.int("EXPORT_CHUNK_ROWS", default=5000)  # rows per write and progress save

# Webhooks (contract §9). Endpoint secrets are encrypted at rest with Fernet; the key is
# WEBHOOKS_SECRET_KEY (one Fernet key, or several comma-separated: the first encrypts, any
# decrypts) or, when unset, one derived from SECRET_KEY (docs/webhooks.md).
WEBHOOKS_SECRET_KEY = env.str("WEBHOOKS_SECRET_KEY", default="")
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=False)
# Lifts the refusal of loopback, private, link-local, multicast and reserved addresses.
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=False)
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
# How long a worker holds the deliveries it took; a killed worker's are taken again after it.
WEBHOOKS_LEASE_SECONDS = env.int("WEBHOOKS_LEASE_SECONDS", default=60)
# A commit's events are fanned out this long after it, together with every other commit
# of the tenant's in that time (webhooks/dispatch.py; across processes when CACHE_URL is
# shared): fewer, fuller fan-outs and delivery runs, for this much latency.
WEBHOOKS_FAN_OUT_INTERVAL_SECONDS = env.float("WEBHOOKS_FAN_OUT_INTERVAL_SECONDS", default=0.5)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: a broker for the embedded mode that needs no server.
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
        # Exchange tables; kombu's default is ./control, in whatever folder runs the worker.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Celery's Django fixup closes every database connection after each task unless this is
# set, so each webhook fan-out or delivery opened a new PostgreSQL connection (a new
# backend process: most of a short task's cost). Set, it recycles them every this many
# tasks; in between flownally_admin/celery.py applies CONN_MAX_AGE as Django does per
# request (close_old_connections around each task).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Imports run on their own queue so long files never hold up short tasks.
CELERY_TASK_ROUTES = {
    "contacts.tasks.contact_import_run_task": {"queue": "imports"},
    # Exports are long too: the same queue of bulk jobs.
    "exports.tasks.contact_export_run_task": {"queue": "imports"},
    # Webhooks too: a receiver that takes its 10 s must not hold up short tasks.
    "webhooks.tasks.webhooks_fan_out_task": {"queue": "webhooks"},
    "webhooks.tasks.webhook_endpoint_deliver_task": {"queue": "webhooks"},
}
CELERY_BEAT_SCHEDULE = {
    # Imports whose worker died are resumed: within a lease (20 s) and this period.
    "resume-stale-contact-imports": {
        "task": "contacts.tasks.contact_import_resume_stale_task",
        "schedule": 5.0,
    },
    # Exports whose worker died are written again; expired export files are deleted.
    "resume-stale-contact-exports": {
        "task": "exports.tasks.contact_export_resume_stale_task",
        "schedule": 10.0,
    },
    "purge-expired-contact-exports": {
        "task": "exports.tasks.contact_exports_purge_expired_task",
        "schedule": 600.0,
    },
    # Contact counts are sums of deltas; fold crowded buckets so a count stays one short read.
    "compact-contact-counts": {
        "task": "contacts.tasks.contact_counts_compact_task",
        "schedule": 60.0,
    },
    # Events older than EVENTS_RETENTION_DAYS leave the log.
    "purge-expired-events": {
        "task": "events.tasks.events_purge_expired_task",
        "schedule": 3600.0,
    },
    # Webhooks: new events, due and abandoned deliveries, all found in the database.
    "sweep-webhooks": {
        "task": "webhooks.tasks.webhooks_sweep_task",
        "schedule": 5.0,
    },
    "purge-expired-webhook-deliveries": {
        "task": "webhooks.tasks.webhook_deliveries_purge_expired_task",
        "schedule": 3600.0,
    },
    # Idempotency-Key responses are replayed for 24 hours, then forgotten.
    "purge-expired-idempotency-records": {
        "task": "flownally_admin.api.tasks.idempotency_records_purge_task",
        "schedule": 3600.0,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Logging ------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"trace": {"()": "flownally_admin.api.tracing.TraceIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s trace=%(trace_id)s %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["trace"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx logs every webhook delivery's request line at INFO; the deliveries record them.
    # botocore at DEBUG logs each request's headers, session tokens included.
    "loggers": {
        "httpx": {"level": "WARNING"},
        **{name: {"level": "WARNING"} for name in ("boto3", "botocore", "s3transfer")},
    },
}
