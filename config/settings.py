"""Flock's one settings module, read from the environment.

Nothing set: DEBUG on, SQLite in the repo, Celery tasks run in-process. DATABASE_URL selects
PostgreSQL (psycopg 3), REDIS_URL a Redis broker and result backend served by real workers.
With DEBUG off, SECRET_KEY and ALLOWED_HOSTS are required and the secure defaults below make
`manage.py check --deploy` clean. Every variable is listed in the README.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

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
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "annotation",
    "leaderboard",
    "quality",
    "exports",
    "drive",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Permissions-Policy and no-store (config/middleware.py), then the CSP (SECURE_CSP below).
    "config.middleware.ResponseHeadersMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.RefuseNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a sign-in refused for too many failures into a 429 (see AXES_* below).
    "axes.middleware.AxesMiddleware",
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
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "exports.context_processors.roles",
                "annotation.context_processors.notifications",
            ],
        },
    },
]

# Database: SQLite in the repo unless DATABASE_URL names another (postgres://… uses psycopg 3).
# A server database's connections are kept open between requests (DATABASE_CONN_MAX_AGE
# seconds, checked before reuse): opening one per request halved what gunicorn served on two
# cores (bench.load, docs/benchmarks.md).
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int(
            "DATABASE_CONN_MAX_AGE", 0 if DATABASE_URL.startswith("sqlite") else 600, minimum=0
        ),
        conn_health_checks=True,
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
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_PREPARED_STATEMENTS", True
):
    # Parameters sent apart from the query (psycopg's server-side binding), and a query run a
    # fifth time on a kept connection prepared, so that PostgreSQL stops planning it each time:
    # planning was most of its time for the review queue's head (0.9 ms planned, 0.35 ms run).
    # Django leaves both off by default for transaction-mode poolers (PgBouncer without
    # max_prepared_statements), which would need DATABASE_PREPARED_STATEMENTS=false.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=5
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The duplicate index's key index carries each bucket's fingerprint for PostgreSQL's index-only
# look-ups (quality.models.Bucket); SQLite builds it on the key alone, which is all it needs, and
# would otherwise say so (models.W040) at every start.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

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
# A job whose worker process is killed goes back to the queue instead of being acknowledged as
# failed (WorkerLostError); every job is idempotent, so running it again is safe.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60, minimum=1)
# The one number of the staleness rule: a snapshot build beats (heartbeat_at) every fifth of it;
# one silent this long lost its worker. The reaper (beat, every minute) then marks it failed and
# frees the building place, and Redis hands a job nobody acknowledged to another worker after
# the same time (visibility_timeout), which builds it again.
FLOCK_SNAPSHOT_STALE_SECONDS = env_int("FLOCK_SNAPSHOT_STALE_SECONDS", 300, minimum=60)
# A broker or result store that is down costs a request a fraction of a second, not Celery's
# default of 20 one-second retries: queueing after a commit fails fast, is logged and recorded
# (config.celery.enqueue_on_commit), and the request still succeeds.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": CELERY_TASK_PUBLISH_RETRY_POLICY}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": FLOCK_SNAPSHOT_STALE_SECONDS,
    "socket_connect_timeout": 1,
}
CELERY_TIMEZONE = env_str("TIME_ZONE", "UTC")
# The hour (0-23, in TIME_ZONE) at which the daily digest of notifications is mailed.
FLOCK_DIGEST_HOUR = env_int("FLOCK_DIGEST_HOUR", 7)
if not 0 <= FLOCK_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured(
        f"FLOCK_DIGEST_HOUR must be an hour, 0 to 23, not {FLOCK_DIGEST_HOUR}."
    )
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
    # Mark failed the snapshot builds that stopped beating, so none blocks the next build.
    "snapshots-reap": {"task": "exports.tasks.snapshots_reap", "schedule": 60},
    # The daily digest of notifications, at FLOCK_DIGEST_HOUR:00 in TIME_ZONE.
    "notifications-digest": {
        "task": "annotation.tasks.notifications_digest",
        "schedule": crontab(hour=FLOCK_DIGEST_HOUR, minute=0),
    },
}
# A nightly export snapshot at 04:00, with the default options (FLOCK_NIGHTLY_SNAPSHOT=true).
if env_bool("FLOCK_NIGHTLY_SNAPSHOT", False):
    CELERY_BEAT_SCHEDULE["snapshot-nightly"] = {
        "task": "exports.tasks.snapshot_nightly",
        "schedule": crontab(hour=4, minute=0),
    }
# The retention rule: the newest N ready nightly snapshots nobody pinned keep their files; each
# nightly build prunes the older ones (files deleted, row kept as "pruned"). A snapshot a person
# built, or a pinned one, is never pruned. 0 keeps every nightly snapshot.
FLOCK_NIGHTLY_KEEP = env_int("FLOCK_NIGHTLY_KEEP", 7)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Who may sign in, and how. Password sign-in (the sign-in form, `POST /api/v1/auth/token/`,
# password reset) is on unless FLOCK_PASSWORD_SIGN_IN=false; company sign-in through OpenID
# Connect is on when OIDC_OP_ISSUER is set (see "Company sign-in" in docs/security.md).
FLOCK_PASSWORD_SIGN_IN = env_bool("FLOCK_PASSWORD_SIGN_IN", True)
AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in attempt while its username or address is locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "annotation:category_list"
LOGOUT_REDIRECT_URL = "login"
# Company sign-in through OpenID Connect (mozilla-django-oidc, annotation/oidc.py): the
# authorization code flow with PKCE, on when OIDC_OP_ISSUER is set. The provider's endpoints come
# from its /.well-known/openid-configuration at the first sign-in (OIDC_OP_*_ENDPOINT override
# them); which claims make which account, team and roles is annotation/services/oidc.py's.
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER").strip()
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "your company account")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT")
OIDC_ALLOWED_EMAIL_DOMAINS = [d.lower() for d in env_list("OIDC_ALLOWED_EMAIL_DOMAINS")]
OIDC_CLAIM_USERNAME = env_str("OIDC_CLAIM_USERNAME", "preferred_username")
OIDC_CLAIM_DISPLAY_NAME = env_str("OIDC_CLAIM_DISPLAY_NAME", "name")
OIDC_CLAIM_TEAM = env_str("OIDC_CLAIM_TEAM")
OIDC_CLAIM_GROUPS = env_str("OIDC_CLAIM_GROUPS", "groups")
OIDC_STAFF_GROUPS = env_list("OIDC_STAFF_GROUPS")
OIDC_DATA_SCIENTIST_GROUPS = env_list("OIDC_DATA_SCIENTIST_GROUPS")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10  # seconds for each call to the provider
if OIDC_OP_ISSUER:
    if not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
        raise ImproperlyConfigured(
            "OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET must be set with OIDC_OP_ISSUER."
        )
    if not DEBUG and not OIDC_OP_ISSUER.startswith("https://"):
        raise ImproperlyConfigured("OIDC_OP_ISSUER must be an https:// URL when DEBUG is false.")
    if not OIDC_ALLOWED_EMAIL_DOMAINS:
        # A public provider (any Google account, say) would otherwise let the whole world in.
        raise ImproperlyConfigured(
            "OIDC_ALLOWED_EMAIL_DOMAINS must be set with OIDC_OP_ISSUER: the company's e-mail "
            "domains (comma-separated, e.g. acme.example) whose addresses may sign in."
        )
    AUTHENTICATION_BACKENDS.append("annotation.oidc.OIDCBackend")
if not FLOCK_PASSWORD_SIGN_IN:
    if not OIDC_OP_ISSUER:
        raise ImproperlyConfigured(
            "FLOCK_PASSWORD_SIGN_IN=false needs company sign-in (OIDC_OP_ISSUER): "
            "otherwise nobody could sign in."
        )
    AUTHENTICATION_BACKENDS.remove("django.contrib.auth.backends.ModelBackend")
# Failed sign-ins (the sign-in form, the admin's login, POST /api/v1/auth/token/), counted by
# django-axes in the database, unknown usernames like known ones: FLOCK_SIGN_IN_FAILURE_LIMIT
# failures for one username, or FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT from one client address, lock
# that username or that address out until FLOCK_SIGN_IN_COOLOFF_MINUTES pass without another
# failure. Pages answer a 429 page, the API a 429 JSON body, both saying how long to wait. A
# successful sign-in forgets the failures of that username from that address
# (annotation/throttle.py holds the handler, the answer and the client address).
AXES_HANDLER = "annotation.throttle.FailureHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either alone locks (order matters)
AXES_FAILURE_LIMIT = env_int("FLOCK_SIGN_IN_FAILURE_LIMIT", 5, minimum=1)
FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT = env_int("FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT", 30, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("FLOCK_SIGN_IN_COOLOFF_MINUTES", 15, minimum=1))
AXES_RESET_ON_SUCCESS = False  # axes would forget the address's failures at every other username
AXES_LOCKOUT_CALLABLE = "annotation.throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "annotation.throttle.client_ip"
AXES_DISABLE_ACCESS_LOG = True  # keep failed attempts only, not a row for every sign-in
# The client address is REMOTE_ADDR, unless TRUSTED_PROXY_COUNT reverse proxies in front of Flock
# each append the address they saw to X-Forwarded-For: then it is the entry that many places
# from the right (what the outermost proxy saw), never one a client wrote itself.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

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
# Where Flock is reached, for the links in mails sent outside a request (notifications).
FLOCK_SITE_URL = env_str("FLOCK_SITE_URL", "http://localhost:8000")

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
# The health check answers load balancers on plain HTTP too (they probe the process directly).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Content-Security-Policy (django.middleware.csp), on every answer: scripts, styles, images and
# requests from Flock's own origin only; an inline <script> or <style> runs only with the
# request's nonce (`nonce="{{ csp_nonce }}"`), a style="" attribute or an on…= handler never.
# Forms post to Flock itself only (company sign-in starts from a link, not a form).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated call gets 401 with `WWW-Authenticate: Token`.
        "annotation.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # drf-spectacular's, documenting the error answers of every operation (config/schema.py).
    "DEFAULT_SCHEMA_CLASS": "config.schema.FlockAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    # JSON that is nested too deeply or holds NUL characters is a 400 (config.api.JSONParser).
    "DEFAULT_PARSER_CLASSES": [
        "config.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "config.api.BrowsableAPIRenderer",
    ],
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
    # No validator badge: Swagger UI would send the schema's address to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Flag kinds are one choice set, read and written (FlagSerializer, FlagRaiseSerializer).
    "ENUM_NAME_OVERRIDES": {
        "FlagKindEnum": "annotation.models.FlagKind",
        # approve/reject: a review's verdict and a gold entry's expected one.
        "VerdictEnum": "annotation.models.Verdict",
        "OverturnVerdictEnum": "annotation.models.OverturnVerdict",
    },
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
        # django-axes: each failed sign-in and lockout is a warning; its book-keeping stays quiet.
        "axes": {"level": "WARNING"},
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
# A reviewer's fix may change at most this share of a field's words (5 words always): it corrects
# the author's text, it does not rewrite it (annotation.text.fix_errors).
FLOCK_FIX_MAX_SHARE = env_float("FLOCK_FIX_MAX_SHARE", 0.25, minimum=0.0, maximum=1.0)
# Gold entries (annotation/services/gold.py): the share of "Review next" hand-outs that are a gold
# entry with a known answer; a reviewer's verdicts stop counting toward consensus and points when,
# after FLOCK_GOLD_MIN_REVIEWS gold answers, their accuracy is below FLOCK_GOLD_MIN_ACCURACY.
FLOCK_GOLD_RATE = env_float("FLOCK_GOLD_RATE", 0.1, minimum=0.0, maximum=1.0)
FLOCK_GOLD_MIN_REVIEWS = env_int("FLOCK_GOLD_MIN_REVIEWS", 5, minimum=1)
FLOCK_GOLD_MIN_ACCURACY = env_float("FLOCK_GOLD_MIN_ACCURACY", 0.7, minimum=0.0, maximum=1.0)
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
# Django's cache (the drive dashboard's figures): Redis when REDIS_URL is set, under keys of its
# own ("<FLOCK_REDIS_PREFIX>cache:…"), so that every web process shares one computation;
# otherwise each process's memory.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{FLOCK_REDIS_PREFIX}cache",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Sessions: in the database, and with Redis read from a copy there that lives at most
# FLOCK_SESSION_CACHE_SECONDS (config/sessions.py: a failing Redis is read around, and a session
# deleted while Redis could not be reached is read from an old copy for at most that long).
# 0, or no REDIS_URL: read from the database on every request.
FLOCK_SESSION_CACHE_SECONDS = env_int("FLOCK_SESSION_CACHE_SECONDS", 120, minimum=0)
SESSION_ENGINE = (
    "config.sessions"
    if REDIS_URL and FLOCK_SESSION_CACHE_SECONDS
    else "django.contrib.sessions.backends.db"
)
# The writing and review pages' progress per category (annotation.selectors.category_counts):
# one count over every entry, done at most this often for the whole site (0: every request).
FLOCK_CATEGORY_COUNTS_SECONDS = env_int("FLOCK_CATEGORY_COUNTS_SECONDS", 30, minimum=0)
# How long the writing page's similarity check may take "a reference corpus exists" from the
# cache (quality.selectors.references_exist; an import or a deletion puts "maybe" there at once).
FLOCK_REFERENCES_EXIST_SECONDS = env_int("FLOCK_REFERENCES_EXIST_SECONDS", 60, minimum=0)
# The drive dashboard (drive/figures.py): a beat job recomputes its figures this often into the
# cache, which the page and API read; review rings need at least FLOCK_RING_MIN_REVIEWS reviews
# in each direction of a pair.
FLOCK_DRIVE_CACHE_SECONDS = env_int("FLOCK_DRIVE_CACHE_SECONDS", 60, minimum=1)
FLOCK_RING_MIN_REVIEWS = env_int("FLOCK_RING_MIN_REVIEWS", 5, minimum=1)
CELERY_BEAT_SCHEDULE["drive-refresh"] = {
    "task": "drive.tasks.drive_refresh",
    "schedule": FLOCK_DRIVE_CACHE_SECONDS,
    # A run the workers could not start within its interval is dropped: the next one is due.
    "options": {"expires": FLOCK_DRIVE_CACHE_SECONDS},
}
# More phrases that give away a chatbot's text (comma-separated), on top of exports' own list.
FLOCK_EXTRA_AI_PHRASES = env_list("FLOCK_EXTRA_AI_PHRASES")
# Near duplicates: entries whose instruction + response shingles (and passages, if any) are at
# least this similar (Jaccard) are flagged as the same task written again.
FLOCK_DUPLICATE_THRESHOLD = env_float("FLOCK_DUPLICATE_THRESHOLD", 0.8, minimum=0.5, maximum=1.0)
# Contamination: an entry whose instruction is at least this similar to a question of a reference
# corpus (quality/services/references.py) is flagged and never released. By default the
# duplicate threshold, the same measure over the instruction alone.
FLOCK_REFERENCE_THRESHOLD = env_float(
    "FLOCK_REFERENCE_THRESHOLD", FLOCK_DUPLICATE_THRESHOLD, minimum=0.5, maximum=1.0
)
# A reference question of fewer words than this (normalised) is not indexed: a generic one
# ("Summarise the passage.") would flag every entry asking it. The import reports them.
FLOCK_REFERENCE_MIN_WORDS = env_int("FLOCK_REFERENCE_MIN_WORDS", 4, minimum=1)
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
# A snapshot's metadata.parquet names each record's author by a pseudonym, an HMAC of their
# account id with this secret: the same in every snapshot, not reversible without it. Set it apart
# from SECRET_KEY so that rotating one leaves the other; changing it changes every pseudonym.
FLOCK_PSEUDONYM_SECRET = env_str("FLOCK_PSEUDONYM_SECRET") or SECRET_KEY
