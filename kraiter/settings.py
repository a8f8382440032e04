"""Settings, read from the environment (one file, as docs/design.md says).

Without any environment this runs in the embedded mode of `make run`: SQLite in var/, a Celery
broker on the file system, mail written to var/outbox/. DATABASE_URL and REDIS_URL switch to
PostgreSQL and Redis; the README lists every variable.
"""

import os
import sys
from pathlib import Path

import dj_database_url
from botocore.config import Config as BotoConfig
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
# pytest sets nothing in the environment; its presence is what marks a test run.
TESTING = env_bool("KRAITER_TESTING") or "pytest" in sys.modules

# Embedded mode (no DATABASE_URL: SQLite in var/) is what `make run` and the README's commands use.
EMBEDDED = not env_str("DATABASE_URL")


def embedded_secret_key(path: Path) -> str:
    """The secret of an embedded install: made once into var/secret-key (readable by its owner
    only) and read from there after, so every command works without DEBUG and links signed by
    one process verify in the others and after a restart."""
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                handle.write(secrets.token_urlsafe(50))
        except FileExistsError:
            pass  # another process of `make run` made it first: use theirs
    return path.read_text().strip()


_INSECURE_TEST_KEY = "insecure-key-only-for-tests"
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY and TESTING:
    SECRET_KEY = _INSECURE_TEST_KEY
elif not SECRET_KEY and (EMBEDDED or DEBUG):
    SECRET_KEY = embedded_secret_key(VAR_DIR / "secret-key")
elif not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DATABASE_URL is (it signs tracking and unsubscribe links): "
        "export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The port `make run` serves on (PORT=8102 make run); links and printed URLs follow it.
PORT = env_int("PORT", 8000)
# The public address of this service: tracking pixels, click links and unsubscribe links point here.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "kraiter",
    "domains",
    "contacts",
    "templates_app",
    "sends",
    "scheduling",
    "metrics",
]

MIDDLEWARE = [
    "kraiter.api.middleware.RequestIdMiddleware",
    "kraiter.api.middleware.RecursionErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kraiter.urls"
WSGI_APPLICATION = "kraiter.wsgi.application"
# /api/contacts and /api/contacts/ both work; no redirect that would turn a POST into a GET.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "kraiter" / "templates"],
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

# --- database -------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'kraiter.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, worker and beat of `make run` read while one of them writes;
    # IMMEDIATE transactions take the write lock up front instead of failing half-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if env_int("DATABASE_PREPARE_THRESHOLD", 0) and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Server-side prepared statements: PostgreSQL plans each hot query once per connection.
    # Off by default because transaction-pooling proxies (pgbouncer) do not support them.
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": True,
        "prepare_threshold": env_int("DATABASE_PREPARE_THRESHOLD", 0),
    }
# The web tier (kraiter/wsgi.py sets KRAITER_WEB=1 before these settings load) cancels any SQL
# statement running longer than this, so no request holds a connection and a worker for longer.
# Workers, beat and management commands run long batches on purpose: no limit unless set for them.
WEB_TIER = env_bool("KRAITER_WEB")
DATABASE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 5000 if WEB_TIER else 0)
if DATABASE_STATEMENT_TIMEOUT_MS and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A startup parameter of the connection: no extra round trip, and it cannot be forgotten.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT_MS}"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# SQLite cannot INCLUDE columns in an index or a unique constraint (W040, W039); metrics' migration
# 0002 and sends' 0004 give it a plain unique index on the rollup key instead.
SILENCED_SYSTEM_CHECKS = ["models.W040", "models.W039"]
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")

# --- Redis, cache, Celery -----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# Every Redis call (broker, cache, rate limiter) is bounded: a Redis that accepts connections and
# never answers costs a request this long, never a thread for good.
REDIS_SOCKET_TIMEOUT_SECONDS = env_float("REDIS_SOCKET_TIMEOUT_SECONDS", 2.0)
_REDIS_TIMEOUTS = {
    "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
}

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": dict(_REDIS_TIMEOUTS),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
# A task not acknowledged within the visibility timeout is handed to another worker. Deliveries
# are short; the sweeper (sends.tasks) covers anything the broker loses. The socket timeouts stay
# above kombu's 1 s BRPOP poll, so an idle worker does not time out.
REDIS_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 600, **_REDIS_TIMEOUTS}
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL == "filesystem://":
    # The embedded broker: a folder of message files that web, worker and beat share.
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
    # kombu's Redis transport, keeping one client per channel (kraiter.broker).
    CELERY_BROKER_TRANSPORT = "kraiter.broker:Transport"
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT_SECONDS
# Publishing a task (in a web request, after its commit) tries twice, then gives up: the send is
# committed and the sweeper enqueues it (sends.tasks.send_enqueue_delivery).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged once it has run; a worker process that dies mid-task gives its message
# back to the broker at once (another worker takes it), instead of after the visibility timeout.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 4)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# How often beat runs the scheduled-send dispatcher, in seconds.
DISPATCH_INTERVAL_SECONDS = env_float("DISPATCH_INTERVAL_SECONDS", 2.0)

# --- mail -----------------------------------------------------------------------------------------
# Production: EMAIL_BACKEND=django_ses.SESBackend. The default writes one .eml per send to var/outbox/.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "kraiter.mail.OutboxBackend")
OUTBOX_DIR = Path(env_str("OUTBOX_DIR", str(VAR_DIR / "outbox")))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Kraiter <no-reply@example.com>")
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID") or None
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY") or None
AWS_SES_REGION_NAME = env_str("AWS_SES_REGION_NAME", "us-east-1")
AWS_SES_REGION_ENDPOINT = env_str("AWS_SES_REGION_ENDPOINT", f"email.{AWS_SES_REGION_NAME}.amazonaws.com")
if env_str("AWS_SES_REGION_ENDPOINT_URL"):
    AWS_SES_REGION_ENDPOINT_URL = env_str("AWS_SES_REGION_ENDPOINT_URL")
AWS_SES_CONFIGURATION_SET = env_str("AWS_SES_CONFIGURATION_SET") or None
# django-ses's own per-process throttle is replaced by the shared Redis limiter in sends.ratelimit,
# and botocore's silent retries by the delivery pipeline's (recorded, backed off, worker released).
AWS_SES_AUTO_THROTTLE = None
# Every SES call is bounded: a connection opens within SES_CONNECT_TIMEOUT_SECONDS or the attempt
# surely did not reach SES (retried); an answer comes within SES_READ_TIMEOUT_SECONDS or the
# attempt's outcome is unknown (sends.delivery: recorded, and not resent blindly).
SES_CONNECT_TIMEOUT_SECONDS = env_float("SES_CONNECT_TIMEOUT_SECONDS", 3.0)
SES_READ_TIMEOUT_SECONDS = env_float("SES_READ_TIMEOUT_SECONDS", 10.0)
AWS_SES_CONFIG = BotoConfig(
    retries={"total_max_attempts": 1},
    connect_timeout=SES_CONNECT_TIMEOUT_SECONDS,
    read_timeout=SES_READ_TIMEOUT_SECONDS,
)
# The SES account's maximum send rate (messages per second), shared by every worker. Workers aim
# a little below it (the headroom): a message reaches SES some milliseconds after its slot, and
# that jitter must not put more than the maximum into any one second.
SES_MAX_SEND_RATE = env_float("SES_MAX_SEND_RATE", 14.0)
SES_SEND_RATE_HEADROOM = env_float("SES_SEND_RATE_HEADROOM", 0.93)
# The Redis key of the shared limiter: deployments sharing one Redis and one SES account share it.
SES_RATE_LIMIT_KEY = env_str("SES_RATE_LIMIT_KEY", "kraiter:ses-rate")
# SNS topics whose notifications the webhook accepts.
AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS = env_list("AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS")
AWS_SES_VERIFY_EVENT_SIGNATURES = True

# --- sending domains and senders --------------------------------------------------------------
# Which service proves an organisation owns a domain: `ses` (SES v2 identities, Easy DKIM) or
# `local` (a stand-in issuing the same kind of records, for the embedded mode). By default `ses`
# whenever mail goes through django-ses, `local` otherwise. `runall` prints the choice.
_REAL_SES = EMAIL_BACKEND.startswith("django_ses")
DOMAIN_IDENTITY_SERVICE = env_str("DOMAIN_IDENTITY_SERVICE", "ses" if _REAL_SES else "local")
if DOMAIN_IDENTITY_SERVICE not in ("ses", "local"):
    raise ImproperlyConfigured(f"DOMAIN_IDENTITY_SERVICE must be ses or local, not {DOMAIN_IDENTITY_SERVICE!r}.")
# The local stand-in verifies a domain when asked (POST /api/domains/:id/verify); with this on,
# the beat task verifies it too, without asking.
LOCAL_DOMAINS_AUTO_VERIFY = env_bool("LOCAL_DOMAINS_AUTO_VERIFY")
# May an organisation with no sender of its own send as DEFAULT_FROM_EMAIL? On in the embedded
# mode (no real SES), off in production: there every organisation sends from its own domain.
ALLOW_DEFAULT_SENDER = env_bool("ALLOW_DEFAULT_SENDER", not _REAL_SES)
# The custom MAIL FROM subdomain (`bounce.example.com`) each domain gets.
DOMAIN_MAIL_FROM_SUBDOMAIN = env_str("DOMAIN_MAIL_FROM_SUBDOMAIN", "bounce")
# Pending domains are checked 1, 2, 4 ... minutes apart, at most this far apart; verified ones
# every DOMAIN_RECHECK_VERIFIED_SECONDS, so one SES later reports failed stops sending.
DOMAIN_CHECK_BASE_SECONDS = env_int("DOMAIN_CHECK_BASE_SECONDS", 60)
DOMAIN_CHECK_MAX_SECONDS = env_int("DOMAIN_CHECK_MAX_SECONDS", 3600)
DOMAIN_RECHECK_VERIFIED_SECONDS = env_int("DOMAIN_RECHECK_VERIFIED_SECONDS", 6 * 3600)

# --- delivery -------------------------------------------------------------------------------------
# A worker's claim on a send lasts this long; after it, the sweeper hands the send to another worker.
# It covers one SES call (connect + read timeouts), the rate limiter's wait and the retries of the
# `sent` write, so a worker that dies is replaced within the lease plus one sweep (~40 s).
DELIVERY_LEASE_SECONDS = env_int(
    "DELIVERY_LEASE_SECONDS", int(SES_CONNECT_TIMEOUT_SECONDS + SES_READ_TIMEOUT_SECONDS) + 15
)
# How often beat runs the sweeper that re-enqueues queued sends no worker is delivering.
DELIVERY_SWEEP_INTERVAL_SECONDS = env_float("DELIVERY_SWEEP_INTERVAL_SECONDS", 10.0)
# A queued send nobody has claimed after this long is re-enqueued by the sweeper (its task may
# still be waiting in the broker's queue until then). It also bounds how long the sends a dead
# worker had prefetched wait (their messages stay unacknowledged in Redis): 20 s + one sweep keeps
# them under 45 s (BENCHMARKS.md, crash sweep). A backlog older than this is re-enqueued too;
# harmless (each delivery claims its send first), at the cost of some extra broker messages.
DELIVERY_PICKUP_GRACE_SECONDS = env_int("DELIVERY_PICKUP_GRACE_SECONDS", 20)
DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", 8)
# An attempt whose outcome is unknown (SES's answer lost, or its worker lost) may have been
# accepted. Wait this long for SES's event stream to say so (a configuration set publishing to
# /webhooks/ses/); then `resend` (at-least-once, each resend marked) or `hold` (at-most-once).
DELIVERY_UNCERTAIN_WAIT_SECONDS = env_int("DELIVERY_UNCERTAIN_WAIT_SECONDS", 60 if AWS_SES_CONFIGURATION_SET else 0)
DELIVERY_UNCERTAIN_POLICY = env_str("DELIVERY_UNCERTAIN_POLICY", "resend")
if DELIVERY_UNCERTAIN_POLICY not in ("resend", "hold"):
    raise ImproperlyConfigured(f"DELIVERY_UNCERTAIN_POLICY must be resend or hold, not {DELIVERY_UNCERTAIN_POLICY!r}.")
# Under `resend`, at most this many resends after unknown outcomes; then the send ends `sent`, unconfirmed.
DELIVERY_MAX_UNCERTAIN_RESENDS = env_int("DELIVERY_MAX_UNCERTAIN_RESENDS", 2)

# Beat's timetable: every entry names a task registered with the Celery app (a test checks).
CELERY_BEAT_SCHEDULE = {
    "dispatch-scheduled-sends": {
        "task": "scheduling.tasks.dispatch_scheduled",
        "schedule": DISPATCH_INTERVAL_SECONDS,
        "options": {"expires": DISPATCH_INTERVAL_SECONDS * 5},
    },
    "sweep-queued-sends": {
        "task": "sends.tasks.sweep_queued_sends",
        "schedule": DELIVERY_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": DELIVERY_SWEEP_INTERVAL_SECONDS * 3},
    },
    "heal-stuck-enrolments": {"task": "scheduling.tasks.heal_stuck_enrolments", "schedule": 60.0},
    "purge-idempotency-keys": {"task": "sends.tasks.purge_idempotency_keys", "schedule": 3600.0},
    "check-domains": {"task": "domains.tasks.check_domains", "schedule": 60.0, "options": {"expires": 120.0}},
}

# --- engagement -----------------------------------------------------------------------------------
TRACKING_ENABLED = env_bool("TRACKING_ENABLED", True)

# --- API ----------------------------------------------------------------------------------------
API_MAX_ACTIVE_KEYS = 10
# Requests per second allowed per organisation; 0 turns the limit off.
API_RATE_LIMIT_PER_SECOND = env_int("API_RATE_LIMIT_PER_SECOND", 0)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["kraiter.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["kraiter.api.permissions.HasOrganisation"],
    "DEFAULT_PARSER_CLASSES": ["kraiter.api.parsers.JsonObjectParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "kraiter.api.negotiation.AlwaysJson",
    "DEFAULT_SCHEMA_CLASS": "kraiter.api.schema.KraiterAutoSchema",
    "EXCEPTION_HANDLER": "kraiter.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["kraiter.api.throttling.OrganisationRateThrottle"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Kraiter-compatible email API",
    "DESCRIPTION": "Transactional sends, sequences, scheduled sends, engagement and metrics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api",
    "OAS_VERSION": "3.1.0",  # JSON Schema 2020-12: propertyNames, type lists
    # One name per set of values, wherever it appears (a generated client gets one enum class each).
    "ENUM_NAME_OVERRIDES": {
        "SendStatus": "sends.models.Send.Status",
        "SendSource": "sends.models.Send.Source",
        "SequenceStatus": "scheduling.models.Sequence.Status",
        "EnrolmentStatus": "scheduling.models.Enrolment.Status",
        "SendingStatus": "kraiter.models.Organisation.SendingStatus",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "kraiter.api.openapi.postprocess"],
}

# --- static files, i18n ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # filled by `collectstatic`; served by WhiteNoise
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG or TESTING
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- security -------------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and PUBLIC_BASE_URL.startswith("https"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "kraiter.api.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # The request line can hold nothing secret (keys travel in headers), but keep Django's
        # own request logger quiet about 4xx: they are the client's business, and in the envelope.
        "django.request": {"level": "ERROR"},
        "botocore": {"level": "WARNING"},
        # Quiet by default: beat's "sending due task" and the worker's received/succeeded lines
        # come every second or two; they are ticks, not events (LOG_LEVEL=DEBUG shows them).
        **{
            name: {"level": "DEBUG" if env_str("LOG_LEVEL") == "DEBUG" else "WARNING"}
            for name in ("celery.beat", "celery.app.trace", "celery.worker.strategy")
        },
        # The embedded broker has no host name; kombu warns about that at every start.
        "kombu.connection": {"level": "ERROR" if CELERY_BROKER_URL == "filesystem://" else "WARNING"},
    },
}
