"""Settings, all from the environment.

With nothing set the project runs on its embedded default: SQLite, the
in-memory channel layer, eager Celery and the console email backend. Setting
DATABASE_URL and REDIS_URL moves it onto PostgreSQL and Redis.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = os.environ.get("SECRET_KEY") or "insecure-dev-key-change-me-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Production is served over HTTPS only: HTTPS=1 turns on the redirect, HSTS
# and secure cookies (`manage.py check --deploy` is then clean). Behind a
# reverse proxy that terminates TLS, TRUST_X_FORWARDED_PROTO=1.
HTTPS = env_bool("HTTPS")
if HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("TRUST_X_FORWARDED_PROTO"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
# Two-factor authentication for administrators and managers (django-otp).
OTP_REQUIRED = env_bool("OTP_REQUIRED", default=HTTPS)
OTP_TOTP_ISSUER = "Aiguillage"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anymail",
    "channels",
    "django_celery_beat",
    "phonenumber_field",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "kb",
    "contacts",
    "routing",
    "mail",
    "channels_app",
    "axes",
    "django_prometheus",
]

MIDDLEWARE = [
    # Request metrics (django-prometheus): first and (before axes) last.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # A request id (X-Request-ID) for the logs and the response.
    "config.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Administrators and managers give a second factor (OTP_REQUIRED).
    "contacts.second_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: answers locked-out login attempts.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_SERVER_SIDE_BINDING"):
    # Server-side parameters let psycopg prepare the statements it sees often.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL"):
    # Under an ASGI server every request runs in a thread of its own: a pool
    # (psycopg_pool) shares a few connections instead of one per thread.
    # Needs DB_CONN_MAX_AGE=0 (the default).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
        "max_size": int(os.environ.get("DB_POOL_MAX", "20")),
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# PostgreSQL features the embedded SQLite demo does without: the inbox's
# covering index (INCLUDE columns; a plain index there) and the daily
# aggregates' NULLS NOT DISTINCT key (one refresh at a time keeps it there).
SILENCED_SYSTEM_CHECKS = ["models.W040", "models.W047"]

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # No client-side read timeout: the layer's blocking reads wait
            # longer than redis-py 8's default of 5 s (channels_redis#422).
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that drops packets must not hang public requests: the
            # rate limits let them through when it cannot answer (ratelimit.py).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a Redis broker when REDIS_URL is set, otherwise tasks run eagerly in
# the calling process (the embedded default).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Workers log through LOGGING below (format, personal-data filter) instead
# of replacing the root handlers with their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A worker keeps its database connection for this many tasks instead of
# Celery's default of a new connection per task, which costs more than a
# delivery itself; config/celery.py drops a connection that broke meanwhile.
# 0 restores Celery's default.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "contacts.tasks.sweep_outbox", "schedule": 60.0},
    "sla-check": {"task": "routing.tasks.check_sla", "schedule": 300.0},
}

# Outbound email: console by default; any django-anymail backend (or SMTP) by
# setting EMAIL_BACKEND and the ANYMAIL_* variables of the chosen provider.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
if os.environ.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Aiguillage <ne-pas-repondre@aiguillage.localhost>")
EMAIL_MESSAGE_ID_DOMAIN = os.environ.get("EMAIL_MESSAGE_ID_DOMAIN", "aiguillage.localhost")
ANYMAIL = {key[len("ANYMAIL_") :]: value for key, value in os.environ.items() if key.startswith("ANYMAIL_")}

# Acknowledgements to one address per hour, at most (loops, floods).
ACK_MAX_PER_HOUR = int(os.environ.get("ACK_MAX_PER_HOUR", "5"))

# Outbound SMS: a backend path, like EMAIL_BACKEND.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "channels_app.sms.backends.ConsoleBackend")
SMS_FILE_PATH = os.environ.get("SMS_FILE_PATH", str(BASE_DIR / "media" / "sms"))
SMS_DEFAULT_SENDER = os.environ.get("SMS_DEFAULT_SENDER", "")
SMS_HTTP_CONNECT_TIMEOUT_SECONDS = float(os.environ.get("SMS_HTTP_CONNECT_TIMEOUT_SECONDS", "3.05"))
SMS_HTTP_TIMEOUT_SECONDS = float(os.environ.get("SMS_HTTP_TIMEOUT_SECONDS", "10"))
SMS_BREVO_BASE_URL = os.environ.get("SMS_BREVO_BASE_URL", "https://api.brevo.com/v3")
SMS_BREVO_API_KEY = os.environ.get("SMS_BREVO_API_KEY", "")
SMS_BREVO_ORGANISATION_PREFIX = os.environ.get("SMS_BREVO_ORGANISATION_PREFIX", "")
SMS_OVH_BASE_URL = os.environ.get("SMS_OVH_BASE_URL", "https://eu.api.ovh.com/1.0")
SMS_OVH_APPLICATION_KEY = os.environ.get("SMS_OVH_APPLICATION_KEY", "")
SMS_OVH_APPLICATION_SECRET = os.environ.get("SMS_OVH_APPLICATION_SECRET", "")
SMS_OVH_CONSUMER_KEY = os.environ.get("SMS_OVH_CONSUMER_KEY", "")
SMS_OVH_SERVICE_NAME = os.environ.get("SMS_OVH_SERVICE_NAME", "")
# Where providers post delivery receipts (absolute, with its token), passed
# to providers that take one per SMS; the token the SMS webhooks require.
SMS_RECEIPT_URL = os.environ.get("SMS_RECEIPT_URL", "")
SMS_WEBHOOK_TOKEN = os.environ.get("SMS_WEBHOOK_TOKEN", "")
# Defaults for organisations without their own SMS settings.
SMS_COST_PER_SEGMENT_EUR = float(os.environ.get("SMS_COST_PER_SEGMENT_EUR", "0.05"))
SMS_MAX_PER_CONTACT_PER_DAY = int(os.environ.get("SMS_MAX_PER_CONTACT_PER_DAY", "4"))
CELERY_BEAT_SCHEDULE["sms-reminders"] = {"task": "channels_app.sms.tasks.send_due_reminders", "schedule": 300.0}
# Personal data past each organisation's retention period, erased nightly.
CELERY_BEAT_SCHEDULE["privacy-purge"] = {"task": "contacts.tasks.purge_expired", "schedule": 24 * 3600.0}
# Documents whose antivirus scan is due (scanner was down, dispatch lost).
CELERY_BEAT_SCHEDULE["antivirus-sweep"] = {"task": "contacts.tasks.sweep_scans", "schedule": 120.0}
# The quality indicators' weekly summary to managers, Monday 6:00 UTC.
from celery.schedules import crontab  # noqa: E402

CELERY_IMPORTS = ["contacts.indicators.tasks"]
# The indicators' daily aggregates, brought up to date from the new events.
CELERY_BEAT_SCHEDULE["indicators-refresh"] = {"task": "contacts.indicators.tasks.refresh_aggregates", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["indicators-weekly"] = {
    "task": "contacts.indicators.tasks.send_weekly_summaries",
    "schedule": crontab(minute=0, hour=6, day_of_week=1),
}
# The citizen-facing address of the site, for links sent by SMS and email.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# The citizens' public pages (contact form, callback, follow-up page, API).
FORM_MAX_FILES = int(os.environ.get("FORM_MAX_FILES", "5"))
FORM_MAX_FILE_BYTES = int(os.environ.get("FORM_MAX_FILE_MB", "10")) * 1024 * 1024
FORM_MAX_MESSAGE_CHARS = int(os.environ.get("FORM_MAX_MESSAGE_CHARS", "10000"))
# A request body larger than this is refused before it is read.
FORM_MAX_REQUEST_BYTES = FORM_MAX_FILES * FORM_MAX_FILE_BYTES + 1024 * 1024
FOLLOWUP_LINK_MAX_AGE_DAYS = int(os.environ.get("FOLLOWUP_LINK_MAX_AGE_DAYS", "365"))
FOLLOWUP_RELINK_WINDOW_SECONDS = int(os.environ.get("FOLLOWUP_RELINK_WINDOW_SECONDS", "600"))
# Antivirus (docs/antivirus.md): every stored document is scanned by clamd,
# over its Unix socket (CLAMAV_SOCKET) or TCP (CLAMAV_HOST, CLAMAV_PORT),
# after the commit that stored it. With neither set (the embedded demo)
# scanning is off and documents are marked "not scanned".
CLAMAV_SOCKET = os.environ.get("CLAMAV_SOCKET", "")
CLAMAV_HOST = os.environ.get("CLAMAV_HOST", "")
CLAMAV_PORT = int(os.environ.get("CLAMAV_PORT", "3310"))
CLAMAV_TIMEOUT_SECONDS = float(os.environ.get("CLAMAV_TIMEOUT_SECONDS", "60"))
# clamd's StreamMaxLength (25 MB in Debian's clamd.conf): a larger document is
# not sent (clamd would cut the stream) and is marked "failed".
CLAMAV_STREAM_MAX_BYTES = int(os.environ.get("CLAMAV_STREAM_MAX_MB", "25")) * 1024 * 1024
# A document the scanner could not be reached for stays pending (not
# downloadable) and is tried again with exponential backoff.
CLAMAV_RETRY_BASE_SECONDS = float(os.environ.get("CLAMAV_RETRY_BASE_SECONDS", "30"))
CLAMAV_RETRY_MAX_SECONDS = float(os.environ.get("CLAMAV_RETRY_MAX_SECONDS", "1800"))
# Behind a reverse proxy that sets X-Forwarded-For, count rate limits by it.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR")
# (hits, seconds) per client IP, and per citizen for ":contact".
PUBLIC_RATE_LIMITS = {
    "search": (int(os.environ.get("RATE_SEARCH_PER_MINUTE", "120")), 60),
    "submit": (int(os.environ.get("RATE_SUBMIT_PER_HOUR", "20")), 3600),
    "submit:contact": (int(os.environ.get("RATE_SUBMIT_PER_CONTACT_PER_HOUR", "10")), 3600),
    "followup": (int(os.environ.get("RATE_FOLLOWUP_PER_HOUR", "120")), 3600),
    "relink": (int(os.environ.get("RATE_RELINK_PER_HOUR", "10")), 3600),
    "relink:contact": (3, 3600),
    "chat": (int(os.environ.get("RATE_CHAT_PER_HOUR", "30")), 3600),
}

# Prometheus metrics at /metrics (docs/deployment.md), never public: served
# to the client addresses of METRICS_ALLOWED_IPS (networks; loopback by
# default) or to "Authorization: Bearer METRICS_TOKEN". With several worker
# processes, PROMETHEUS_MULTIPROC_DIR (read by prometheus_client itself)
# names the directory where every process of the host keeps its counters.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "127.0.0.0/8,::1/128")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
try:
    METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network(item, strict=False) for item in METRICS_ALLOWED_IPS]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from exc
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters (e.g. openssl rand -hex 32)")
if HTTPS:
    # Prometheus scrapes the application server itself, on loopback.
    SECURE_REDIRECT_EXEMPT = [r"^metrics$"]

# The inbox's "answer due soon" view: tickets whose first answer is due within
# this many hours, or overdue.
INBOX_DUE_SOON_HOURS = float(os.environ.get("INBOX_DUE_SOON_HOURS", "4"))

# Server processes (gunicorn, the ASGI server, Celery workers) freeze what
# they have loaded out of the garbage collector's sight (config.memory).
GC_FREEZE = env_bool("GC_FREEZE", True)

# The agents' API: a token (made in the admin) expires this many days after.
API_TOKEN_MAX_AGE_DAYS = int(os.environ.get("API_TOKEN_MAX_AGE_DAYS", "90"))

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Aiguillage API",
    "DESCRIPTION": (
        "The unique contact form for sites that build their own: topic search, orientation, requests "
        "(/api/v1/widgets/). The agents' API (/api/v1/tickets/, /api/v1/contacts/, /api/v1/kb/): "
        "token or session authentication, the inbox's scoping."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Outbox delivery: retries with exponential backoff on temporary errors.
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8"))
OUTBOX_BACKOFF_BASE_SECONDS = float(os.environ.get("OUTBOX_BACKOFF_BASE_SECONDS", "30"))
OUTBOX_BACKOFF_MAX_SECONDS = float(os.environ.get("OUTBOX_BACKOFF_MAX_SECONDS", "3600"))
# Rows handed over together are delivered by one task, this many at most
# (the rest by other tasks), and for this long at most before the task hands
# the rest on one by one: a provider that answers in milliseconds sends a
# burst from one task, a slow one (hundreds of ms per message) soon gets the
# burst spread over the workers' threads again.
OUTBOX_BATCH_SIZE = int(os.environ.get("OUTBOX_BATCH_SIZE", "8"))
OUTBOX_BATCH_SECONDS = float(os.environ.get("OUTBOX_BATCH_SECONDS", "0.5"))
# A row left "queued" this long after it was due was never dispatched (the
# process died between commit and dispatch): the sweeper dispatches it.
OUTBOX_DISPATCH_GRACE_SECONDS = float(os.environ.get("OUTBOX_DISPATCH_GRACE_SECONDS", "60"))
# How long a worker may hold a row in "sending" before it is presumed dead.
OUTBOX_SENDING_LEASE_SECONDS = float(os.environ.get("OUTBOX_SENDING_LEASE_SECONDS", "300"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

PHONENUMBER_DEFAULT_REGION = "FR"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

LOGIN_URL = "inbox:login"
LOGIN_REDIRECT_URL = "inbox:index"

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures for one
# username from one address, that pair is locked out for AXES_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "contacts.inbox.backends.ThrottledBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "inbox/locked.html"

# Logs go to stderr (config/logs.py): human-readable text by default, one
# JSON object per line with LOG_FORMAT=json (production). Every record
# carries the request id (or Celery task id) and the ticket reference when
# known; email addresses, phone numbers and follow-up links are masked.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "config.logs.ContextFilter"},
        "personal_data": {"()": "config.logs.PersonalDataFilter"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Through the handler above only (Django's own would print DEBUG
        # records twice, unfiltered, and mail them to ADMINS).
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # The servers' own loggers, in the same format.
        **{
            name: {"handlers": ["console"], "propagate": False}
            for name in ("gunicorn.error", "uvicorn", "uvicorn.error")
            if LOG_FORMAT == "json"
        },
    },
}
