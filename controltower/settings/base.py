"""Settings read from the environment.

With no DATABASE_URL and no REDIS_URL the project runs on its *embedded default*: a SQLite
file, Celery tasks executed eagerly in-process and the in-memory channel layer. That is what
the README's demo command uses. With them set it runs for real: PostgreSQL (psycopg 3 with a
connection pool, which ASGI needs — see docs/architecture.md), Celery over Redis with separate
worker and beat processes, and channels-redis.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
import plotly
from django.utils.csp import CSP

# Lets admin/queryset generics be subscripted at runtime (ModelAdmin[Model]) for mypy.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- GENERAL -------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default="django-insecure-embedded-default-only-for-the-local-demo",
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = False
LANGUAGE_CODE = "en-gb"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "controltower.urls"
ASGI_APPLICATION = "controltower.asgi.application"
WSGI_APPLICATION = None
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- APPS ----------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",  # ASGI runserver (websockets) for the demo; production runs uvicorn
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "apps.common",
    "apps.accounts",
    "apps.feeds",
    "apps.ingestion",
    "apps.events",
    "apps.correlation",
    "apps.exceptions",
    "apps.sla",
    "apps.finance",
    "apps.dashboard",
    "apps.simulator",
    "apps.bench",
    "apps.live",
    "apps.polling",
    "apps.onboarding",
    "apps.pipeline",  # above ingestion, correlation, exceptions and SLA: the stages in order
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",  # {{ csp_nonce }}
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.accounts.context_processors.roles",
            ],
        },
    },
]

# --- DATABASES -----------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI every request would otherwise open a new connection (design/floors.md:
        # 9.4 ms vs 3.6 ms p50). The pool replaces CONN_MAX_AGE.
        DATABASES["default"]["OPTIONS"] = {
            "pool": {
                "min_size": env.int("DB_POOL_MIN", default=2),
                "max_size": env.int("DB_POOL_MAX", default=20),
                "timeout": 10,
            },
            # The working set is in memory (or on SSD): a random page costs about what a sequential
            # one does. With PostgreSQL's default (4) the planner scans whole node and expectation
            # tables for `= ANY(<thousands of ids>)` probes that an index answers in 2 ms instead
            # of 7 (docs/benchmarks.md, 2026-12-02). A server tuned already can set it to "".
            "options": env.str("DB_OPTIONS", default="-c random_page_cost=1.1"),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(BASE_DIR / "var" / "controltower.sqlite3")),
            "OPTIONS": {
                # WAL lets the demo's pages read while ingestion writes; IMMEDIATE avoids
                # "database is locked" upgrades inside write transactions.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

# --- CACHE (rate limits) ------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- CELERY --------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="controltower")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fix-up otherwise closes the connections after every task, which with the psycopg
# pool under the prefork pool means a new pool (and new connections) per task: half the speed
# (measured, docs/benchmarks.md).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down must not make the ingest endpoint hang: the message is already
# committed, and the beat sweep re-enqueues it (apps.pipeline.tasks.heal_messages).
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULE = {
    "heal-messages": {
        "task": "pipeline.heal_messages",
        "schedule": timedelta(seconds=env.int("INGEST_HEAL_SECONDS", default=15)),
    },
    "prune-signature-nonces": {
        "task": "apps.feeds.tasks.prune_signature_nonces",
        "schedule": timedelta(minutes=10),
    },
    "sweep-slas": {
        "task": "apps.sla.tasks.sweep_slas",
        "schedule": timedelta(minutes=1),
    },
    "sweep-reconciliation": {
        "task": "finance.sweep_reconciliation",
        "schedule": timedelta(minutes=1),
    },
    "heal-files": {
        "task": "ingestion.heal_files",
        "schedule": timedelta(minutes=1),
    },
    "sweep-system-exceptions": {
        "task": "apps.exceptions.tasks.sweep_system_exceptions",
        "schedule": timedelta(minutes=1),
    },
    # Future-dated events whose time has come are trusted and their orders recomputed.
    "release-held-events": {
        "task": "pipeline.release_held_events",
        "schedule": timedelta(seconds=env.int("EVENTS_RELEASE_SECONDS", default=30)),
    },
    # Polled feeds (docs/polling.md): claims the feeds that are due, one round task each.
    "poll-feeds": {
        "task": "polling.poll_due",
        "schedule": timedelta(seconds=10),
    },
}

# With eager tasks there is no `celery beat`: the ASGI server runs CELERY_BEAT_SCHEDULE itself
# (controltower/embedded_beat.py), so the demo's sweeps (SLA breaches…) still happen.
EMBEDDED_BEAT = env.bool("EMBEDDED_BEAT", default=CELERY_TASK_ALWAYS_EAGER)

# --- CHANNELS ------------------------------------------------------------------------------
# Live pushes (apps/live): channels-redis whenever there is a Redis, so that what a Celery worker
# publishes reaches the sockets held by the web processes; in-memory only in the embedded default
# (one process: the server runs the tasks itself).
# redis-py 8 reads with a 5 s socket timeout by default, as long as the BZPOPMIN channels-redis
# waits on: an idle socket's consumer would die with "Timeout reading from …" (redis-py #4091).
CHANNEL_REDIS_HOSTS: list[dict[str, Any]] = [{"address": REDIS_URL, "socket_timeout": 30}]
# Key prefix in Redis: deployments (or benchmark runs) sharing one Redis keep their groups apart.
CHANNELS_PREFIX = env.str("CHANNELS_PREFIX", default="asgi")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": CHANNEL_REDIS_HOSTS, "prefix": CHANNELS_PREFIX},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- DRF -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.common.drf.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "apps.common.schema.AutoSchema",  # documents the error answers too
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bodies are JSON (the contract); the two upload endpoints declare multipart themselves.
    # Form bodies were accepted by accident and undocumented: a null in a form is the string "null".
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Request rates per user (a feed token: per feed) and per address without credentials; 429
    # with Retry-After over them. The ingest endpoint has its per-feed limit instead.
    "DEFAULT_THROTTLE_CLASSES": ["apps.common.ratelimit.UserApiThrottle", "apps.common.ratelimit.AnonApiThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="600/min"),
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
    },
    # The client's address is REMOTE_ADDR (uvicorn --proxy-headers puts it there); never trust
    # X-Forwarded-For as sent.
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Logistics control tower API",
    "DESCRIPTION": "Partner ingestion and lookup API. Contract: docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get components of their own (`…Request`): only they carry minLength and
    # write-only fields, so a client (and schemathesis) can tell a valid body from the schema.
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the canonical event types wherever a serializer offers them (SLA start/stop…).
    "ENUM_NAME_OVERRIDES": {
        "EventTypeEnum": "apps.events.taxonomy.EventType",
        "HoldStatusEnum": "apps.finance.choices.HoldStatus",
        "HoldReasonEnum": "apps.finance.choices.HoldReason",
        "FeedHealthStatusEnum": "apps.ingestion.health.HealthStatus",
    },
}

# --- STATIC --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # plotly.min.js ships inside the plotly wheel; served from there, never from a CDN.
    ("plotly", str(Path(plotly.__file__).parent / "package_data")),
]
# Uploaded partner files (apps/ingestion/files.py) are kept here as evidence.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "/media/"  # never served directly: files are downloaded through a permission-checked view
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- SECURITY (docs/operations.md "Security") ----------------------------------------------
# Headers on every answer, in every environment (production adds HTTPS, HSTS and secure cookies).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Content Security Policy: scripts and styles only from our own static files. No inline script at
# all; the one inline <style> allowed is the nonce-carrying, empty one Plotly fills through the
# CSSOM (templates/_plotly.html). 'self' covers the live socket (ws/wss to the same host).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.NONCE],
    # Style attributes: only an empty one (the hash of ""), which Plotly's colour bars set to reset
    # their rectangles; it styles nothing. Any other style attribute stays refused.
    "style-src-attr": [CSP.UNSAFE_HASHES, "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"],
    "img-src": [CSP.SELF, "data:"],  # the empty data: favicon; Plotly's PNG download
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
# Failed logins (apps/common/ratelimit.py), counted per client address and per username: past the
# limit within the window (from the first failure), 429 with Retry-After, password unchecked.
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.ThrottledModelBackend"]
LOGIN_FAILURES_PER_IP = env.int("LOGIN_FAILURES_PER_IP", default=30)
LOGIN_FAILURES_PER_USERNAME = env.int("LOGIN_FAILURES_PER_USERNAME", default=5)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
# Failed feed tokens on the ingest endpoint (wrong, expired or missing token; unknown feed), per
# client address: past the limit, 429 with Retry-After without the token being looked at.
INGEST_TOKEN_FAILURES_PER_IP = env.int("INGEST_TOKEN_FAILURES_PER_IP", default=20)
INGEST_TOKEN_FAILURE_WINDOW_SECONDS = env.int("INGEST_TOKEN_FAILURE_WINDOW_SECONDS", default=5 * 60)

# --- PASSWORDS -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- INGESTION -----------------------------------------------------------------------------
INGEST_MAX_BODY_BYTES = 5 * 1024 * 1024
# Django refuses bodies over 2.5 MB by default; the contract allows 5 MB (the view enforces it).
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BODY_BYTES + 1024
INGEST_MAX_EVENTS = 1000
# File intake: the largest file accepted, and the chunk the split reads at a time.
INGEST_FILE_MAX_BYTES = env.int("INGEST_FILE_MAX_BYTES", default=1024 * 1024 * 1024)
# Formats whose files are read whole (JSON, XML documents): a smaller cap keeps a worker's memory.
INGEST_FILE_MAX_WHOLE_BYTES = env.int("INGEST_FILE_MAX_WHOLE_BYTES", default=64 * 1024 * 1024)
INGEST_FILE_CHUNK_BYTES = 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "apps.ingestion.uploads.CappedUploadHandler",
]
INGEST_SIGNATURE_TOLERANCE_SECONDS = 300
# A message still in "received" after this long was never picked up (broker down, worker
# crash before ack): the beat sweep enqueues it again.
INGEST_REQUEUE_AFTER = timedelta(seconds=env.int("INGEST_REQUEUE_AFTER_SECONDS", default=30))
# Claims that heal themselves (apps/pipeline/claims.py). On PostgreSQL the processing transaction
# holds a row lock on its messages: the heal sweep, every INGEST_HEAL_SECONDS, frees a message in
# "processing" whose lock is gone (its worker died) once it was claimed INGEST_CLAIM_GRACE_SECONDS
# ago (the gap between the claim's commit and the lock). Elsewhere (SQLite, one process) a message
# in "processing" for INGEST_PROCESSING_TIMEOUT_SECONDS is taken as abandoned.
INGEST_HEAL_SECONDS = env.int("INGEST_HEAL_SECONDS", default=15)
INGEST_CLAIM_GRACE = timedelta(seconds=env.int("INGEST_CLAIM_GRACE_SECONDS", default=10))
INGEST_PROCESSING_TIMEOUT = timedelta(seconds=env.int("INGEST_PROCESSING_TIMEOUT_SECONDS", default=600))
# Attempts before a message is a dead letter; a worker that died while holding it counts as one.
INGEST_MAX_ATTEMPTS = env.int("INGEST_MAX_ATTEMPTS", default=5)
# Future-dated events (docs/feed-health.md): the release sweep trusts at most this many per
# transaction once their time has come, every EVENTS_RELEASE_SECONDS.
EVENTS_RELEASE_BATCH = env.int("EVENTS_RELEASE_BATCH", default=500)
# The stages a worker runs, by name, in the order of apps/pipeline/stages.py; empty: all of them.
# Only for benchmarks that split the time (`bench ingest --store-only` runs "parse,store").
PIPELINE_STAGES = env.list("PIPELINE_STAGES", default=[])
# `GET /metrics` (apps/pipeline/views.py): a scraper sends `Authorization: Bearer <this>`; staff may
# always look. Unset: staff only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Batches correlate in parallel under row locks on the nodes they touch (apps/correlation/locks.py).
# Off only to show, in a test, what those locks prevent.
CORRELATION_LOCKING = env.bool("CORRELATION_LOCKING", default=True)
# Messages processed together when a backlog builds up (apps.pipeline.runner.message_process).
# A batch takes what waits, so it is small when the workers keep up and grows only under backlog,
# where one refresh per order for many messages is what lets the workers catch up: on 2 vCPUs,
# 2,000 events at most gave ~3,000 events/s end to end, 8,000 gave 4,400-5,600 (docs/benchmarks.md,
# 2026-12-02). Small exception messages do not wait behind a batch: the early lane takes them.
INGEST_BATCH_MESSAGES = env.int("INGEST_BATCH_MESSAGES", default=80)
# ...and at most this many events: bounds a batch's transaction (and so what a message queued
# behind a backlog waits for).
INGEST_BATCH_EVENTS = env.int("INGEST_BATCH_EVENTS", default=8000)
# The early lane (docs/live.md "Early exceptions"): a message of at most this many events (a
# webhook) has its partner exceptions opened before correlation, by a worker of its own queue.
# 0 turns the lane off. Workers started without -Q consume both queues (controltower/celery.py).
INGEST_EARLY_MAX_EVENTS = env.int("INGEST_EARLY_MAX_EVENTS", default=10)
# The early lane first tries the whole pipeline on its message, waiting at most this long for a
# lock another batch holds (then it opens the exceptions only and hands over). 0: never tries.
INGEST_EARLY_LOCK_TIMEOUT_MS = env.int("INGEST_EARLY_LOCK_TIMEOUT_MS", default=100)
INGEST_EARLY_QUEUE = env.str("CELERY_EARLY_QUEUE", default=f"{CELERY_TASK_DEFAULT_QUEUE}-early")

# --- EXCEPTIONS ----------------------------------------------------------------------------
# An event on no order for longer than this becomes an unmatched_event occurrence: late binding
# (a last-mile scan before the TMS names the tracking number) usually resolves it well before.
UNMATCHED_EVENT_GRACE = timedelta(minutes=env.int("UNMATCHED_EVENT_GRACE_MINUTES", default=30))
# How far behind the grace cutoff each sweep looks: covers a beat outage without rescanning
# every unmatched event ever stored once a minute.
UNMATCHED_EVENT_LOOKBACK = timedelta(days=1)

# --- FINANCE (docs/finance.md) ---------------------------------------------------------------
# Grace periods of the reconciliation rules (apps/finance/rules.py): a difference younger than its
# grace is `pending`, older is `mismatched` and opens a `reconciliation` exception.
RECONCILIATION_GRACE: dict[str, timedelta] = {
    # the ERP posted an invoice or says shipped; the WMS / TMS / last mile show nothing of it
    "erp_ahead": timedelta(hours=env.int("RECONCILIATION_ERP_AHEAD_GRACE_HOURS", default=4)),
    # delivered by the last mile, no invoice from the ERP
    "delivered_not_invoiced": timedelta(hours=env.int("RECONCILIATION_INVOICE_GRACE_HOURS", default=48)),
    # ship-confirmed by the WMS, no carrier movement
    "shipped_no_movement": timedelta(hours=env.int("RECONCILIATION_CARRIER_GRACE_HOURS", default=24)),
    # a shipment or tracking number the TMS / last mile put on an order the ERP never reported
    "no_erp_order": timedelta(hours=env.int("RECONCILIATION_ERP_ORDER_GRACE_HOURS", default=2)),
}
# A mismatched finding opens its exception once it has stood this long (wall clock): an order's
# events arrive in any order and in different batches, and a difference the next message removes
# is transit, not work for a person. The minute sweep opens the ones that settle.
RECONCILIATION_SETTLE = timedelta(seconds=env.int("RECONCILIATION_SETTLE_SECONDS", default=90))
# Quantities per SKU agree when they differ by at most this many units.
RECONCILIATION_QTY_TOLERANCE = env.float("RECONCILIATION_QTY_TOLERANCE", default=0.0)

# --- LOGGING -------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "apps.common.logging.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(message_id)s %(feed)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [msg=%(message_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": "INFO"},
    },
}
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"  # one-time feed tokens never sit in a cookie
