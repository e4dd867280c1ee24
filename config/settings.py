"""Flock's one settings module, read from the environment.

Nothing set: DEBUG on, SQLite in the repo, Celery tasks run in-process. DATABASE_URL selects
PostgreSQL (psycopg 3), REDIS_URL a Redis broker and result backend served by real workers.
With DEBUG off, SECRET_KEY and ALLOWED_HOSTS are required and the secure defaults below make
`manage.py check --deploy` clean. Every variable is listed in the README.
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_json, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")
    SECRET_KEY = "django-insecure-flock-development-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is false.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "annotation",
    "leaderboard",
    "quality",
    "exports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "exports.context_processors.roles",
            ],
        },
    },
]

# Database: SQLite in the repo unless DATABASE_URL names another (postgres://… uses psycopg 3).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The development server answers autosaves on several threads: take the write lock at the
    # start of each transaction and wait for it, instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Celery: in-process (eager) without REDIS_URL, so that the first `make run` needs no services.
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"  # a host, or kombu warns it has none
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60, minimum=1)
CELERY_TIMEZONE = env_str("TIME_ZONE", "UTC")
CELERY_BEAT_SCHEDULE = {
    # Make this week's contest, finalise the ones past their grace period.
    "contests-tick": {"task": "leaderboard.tasks.contests_tick", "schedule": 15 * 60},
    # Compare the Redis leaderboards with the ledger and repair any drift.
    "boards-check": {"task": "leaderboard.tasks.boards_check", "schedule": 60 * 60},
    # Nightly: the one corpus job of the quality app (duplicates, then licensing), costing what
    # changed since its last run.
    "quality-rescan": {
        "task": "quality.tasks.quality_rescan",
        "schedule": crontab(hour=2, minute=0),
    },
}
# A nightly export snapshot at 04:00, with the default options (FLOCK_NIGHTLY_SNAPSHOT=true).
if env_bool("FLOCK_NIGHTLY_SNAPSHOT", False):
    CELERY_BEAT_SCHEDULE["snapshot-nightly"] = {
        "task": "exports.tasks.snapshot_nightly",
        "schedule": crontab(hour=4, minute=0),
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Who may sign in, and how. Password sign-in (the sign-in form, `POST /api/v1/auth/token/`,
# password reset) is on unless FLOCK_PASSWORD_SIGN_IN=false; company sign-in through OpenID
# Connect is on when OIDC_OP_ISSUER is set (see "Company sign-in" in docs/operations.md).
FLOCK_PASSWORD_SIGN_IN = env_bool("FLOCK_PASSWORD_SIGN_IN", True)
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "annotation:category_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# The company's time zone: contest weeks and the times people see are in it.
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "media/"
# Export snapshots live in their own storage: local disk (MEDIA_ROOT/snapshots) by default; set
# FLOCK_SNAPSHOT_STORAGE_BACKEND (and its OPTIONS as JSON) to an S3-compatible backend such as
# django-storages' "storages.backends.s3.S3Storage" so that several machines share them.
# Builds spool each file on local disk first (FLOCK_SNAPSHOT_SPOOL_DIR, on the same file system
# as the local storage so that a file is renamed into place, not copied).
FLOCK_SNAPSHOT_SPOOL_DIR = Path(env_str("FLOCK_SNAPSHOT_SPOOL_DIR", str(MEDIA_ROOT / ".spool")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "snapshots": {
        "BACKEND": env_str(
            "FLOCK_SNAPSHOT_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env_json(
            "FLOCK_SNAPSHOT_STORAGE_OPTIONS",
            {"location": str(MEDIA_ROOT / "snapshots"), "base_url": None},
        ),
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# E-mail (Django 6.1 MAILERS). Sign-up sends its confirmation link this way. With DEBUG on and no
# EMAIL_HOST, mail is printed to the console; otherwise it goes over SMTP (a local MTA by default).
EMAIL_HOST = env_str("EMAIL_HOST", "" if DEBUG else "localhost")
MAILERS = {
    "default": (
        {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": EMAIL_HOST,
                "port": env_int("EMAIL_PORT", 25, minimum=1),
                "username": env_str("EMAIL_HOST_USER"),
                "password": env_str("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", False),
            },
        }
        if EMAIL_HOST
        else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
}
del EMAIL_HOST
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "flock@localhost")

# Production hardening: on whenever DEBUG is off, each one can be turned down behind a proxy.
# Trust X-Forwarded-Proto only behind a proxy that sets it (and strips a client's own).
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated call gets 401 with `WWW-Authenticate: Token`.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Flock API",
    "DESCRIPTION": "Write, review and export instruction-tuning data in the databricks-dolly-15k format.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Flag kinds are one choice set, read and written (FlagSerializer, FlagRaiseSerializer).
    "ENUM_NAME_OVERRIDES": {"FlagKindEnum": "annotation.models.FlagKind"},
}

# One console handler on the root logger; Django's loggers propagate to it (instead of printing
# each line a second time through Django's own console handler). A refused request (4xx) is one
# line without a traceback; with tasks run in-process, each task's "succeeded in 0.01 s" stays
# below INFO.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"console": {"()": "config.log.ConsoleFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "console"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        **({"celery.app.trace": {"level": "WARNING"}} if CELERY_TASK_ALWAYS_EAGER else {}),
    },
}

# --- Flock's own settings -------------------------------------------------------------------
# Company e-mail domains allowed to sign themselves up; empty turns self-service sign-up off.
FLOCK_SIGNUP_EMAIL_DOMAINS = [d.lower() for d in env_list("FLOCK_SIGNUP_EMAIL_DOMAINS")]
# Where reference passages may come from: a host matches a domain or any subdomain of it.
FLOCK_ALLOWED_SOURCE_DOMAINS = [
    d.lower() for d in env_list("FLOCK_ALLOWED_SOURCE_DOMAINS", ["wikipedia.org"])
]
FLOCK_MAX_INSTRUCTION_CHARS = env_int("FLOCK_MAX_INSTRUCTION_CHARS", 4_000, minimum=1)
FLOCK_MAX_CONTEXT_CHARS = env_int("FLOCK_MAX_CONTEXT_CHARS", 25_000, minimum=1)
FLOCK_MAX_RESPONSE_CHARS = env_int("FLOCK_MAX_RESPONSE_CHARS", 12_000, minimum=1)
# Peer review: a reviewer's hold on an entry handed out by "Review next", and the consensus rule
# (accepted at FLOCK_ACCEPT_APPROVALS approvals when approvals outnumber rejections; rejected at
# FLOCK_REJECT_REJECTIONS rejections). Entries under review longer than FLOCK_REVIEW_STALE_HOURS
# show up for moderators.
FLOCK_REVIEW_LEASE_MINUTES = env_int("FLOCK_REVIEW_LEASE_MINUTES", 10, minimum=1)
FLOCK_ACCEPT_APPROVALS = env_int("FLOCK_ACCEPT_APPROVALS", 2, minimum=1)
FLOCK_REJECT_REJECTIONS = env_int("FLOCK_REJECT_REJECTIONS", 2, minimum=1)
FLOCK_REVIEW_STALE_HOURS = env_int("FLOCK_REVIEW_STALE_HOURS", 48, minimum=1)
# Scoring and contests. Points: an accepted entry earns FLOCK_POINTS_ACCEPTED × its category's
# multiplier, plus FLOCK_POINTS_SHORT_CATEGORY_BONUS while the category is short of its target;
# a review that agrees with the final outcome earns FLOCK_POINTS_REVIEW. Contests may override.
FLOCK_POINTS_ACCEPTED = env_int("FLOCK_POINTS_ACCEPTED", 10)
FLOCK_POINTS_REVIEW = env_int("FLOCK_POINTS_REVIEW", 2)
FLOCK_POINTS_SHORT_CATEGORY_BONUS = env_int("FLOCK_POINTS_SHORT_CATEGORY_BONUS", 5)
# The weekly contest runs Monday 00:00 to Monday 00:00 in TIME_ZONE, then reviews have
# FLOCK_CONTEST_GRACE_HOURS more before standings are frozen.
FLOCK_WEEKLY_CONTESTS = env_bool("FLOCK_WEEKLY_CONTESTS", True)
FLOCK_CONTEST_GRACE_HOURS = env_int("FLOCK_CONTEST_GRACE_HOURS", 48)
FLOCK_LEADERBOARD_SIZE = env_int("FLOCK_LEADERBOARD_SIZE", 50, minimum=1)
# Prefix of every Redis key Flock writes (leaderboard sorted sets), so that several Flock
# installations or test runs can share one Redis.
FLOCK_REDIS_PREFIX = env_str("FLOCK_REDIS_PREFIX", "flock:")
# More phrases that give away a chatbot's text (comma-separated), on top of exports' own list.
FLOCK_EXTRA_AI_PHRASES = env_list("FLOCK_EXTRA_AI_PHRASES")
# Near duplicates: entries whose instruction + response shingles (and passages, if any) are at
# least this similar (Jaccard) are flagged as the same task written again.
FLOCK_DUPLICATE_THRESHOLD = env_float("FLOCK_DUPLICATE_THRESHOLD", 0.8, minimum=0.5, maximum=1.0)
# Licences an imported corpus may have to be released with Flock's data under CC-BY-SA 3.0.
FLOCK_IMPORT_LICENSES = env_list(
    "FLOCK_IMPORT_LICENSES",
    ["cc-by-sa-3.0", "cc-by-3.0", "cc-by-2.5", "cc-by-4.0", "cc0-1.0", "public-domain"],
)
# Export snapshots: who may build and download them (besides staff), and what the dataset card
# says about the data.
FLOCK_DATA_SCIENTISTS_GROUP = env_str("FLOCK_DATA_SCIENTISTS_GROUP", "data-scientists")
FLOCK_COMPANY_NAME = env_str("FLOCK_COMPANY_NAME", "the company")
FLOCK_DATASET_NAME = env_str("FLOCK_DATASET_NAME", "flock-dolly")
FLOCK_DATASET_LANGUAGES = env_list("FLOCK_DATASET_LANGUAGES", ["en"])
