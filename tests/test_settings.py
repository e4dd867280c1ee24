"""The one settings module picks its services from the environment; each case runs in a fresh process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
CONTROLLED = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "DATABASE_PREPARED_STATEMENTS",
    "REDIS_URL",
    "EMAIL_HOST",
    "FLOCK_SIGNUP_EMAIL_DOMAINS",
    "FLOCK_MAX_RESPONSE_CHARS",
    "FLOCK_SIGN_IN_FAILURE_LIMIT",
    "FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT",
    "FLOCK_SIGN_IN_COOLOFF_MINUTES",
    "TRUSTED_PROXY_COUNT",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests for their own process only
}
PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "host": settings.DATABASES["default"].get("HOST", ""),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "backend": settings.CELERY_RESULT_BACKEND,
    "debug": settings.DEBUG,
    "mailer": settings.MAILERS["default"]["BACKEND"],
    "max_response": settings.FLOCK_MAX_RESPONSE_CHARS,
}))
"""


def _run(code_or_args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def _settings(**env):
    result = _run(PRINT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nothing_set_means_sqlite_eager_celery_and_debug():
    found = _settings()
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["name"].endswith("db.sqlite3")
    assert found["eager"] is True and found["broker"] == "memory://localhost/"
    assert found["debug"] is True
    assert found["mailer"].endswith("console.EmailBackend")


def test_database_url_selects_postgresql():
    found = _settings(DATABASE_URL="postgres://flock@db.internal:5432/flock_prod")
    assert found["engine"] == "django.db.backends.postgresql"
    assert (found["name"], found["host"]) == ("flock_prod", "db.internal")


def test_redis_url_selects_a_real_broker_and_result_backend():
    found = _settings(REDIS_URL="redis://cache.internal:6379/2")
    assert found["eager"] is False
    assert found["broker"] == found["backend"] == "redis://cache.internal:6379/2"


def test_email_host_selects_smtp():
    assert _settings(EMAIL_HOST="smtp.internal")["mailer"].endswith("smtp.EmailBackend")


def test_limits_are_read_strictly():
    assert _settings(FLOCK_MAX_RESPONSE_CHARS="500")["max_response"] == 500
    result = _run(PRINT_SETTINGS, FLOCK_MAX_RESPONSE_CHARS="lots")
    assert result.returncode != 0
    assert "FLOCK_MAX_RESPONSE_CHARS must be a whole number" in result.stderr


def test_a_boolean_is_true_or_false_or_an_error():
    assert _settings(DEBUG="false", SECRET_KEY="x" * 60, ALLOWED_HOSTS="a")["debug"] is False
    result = _run(PRINT_SETTINGS, DEBUG="maybe")
    assert result.returncode != 0 and "DEBUG must be true or false" in result.stderr


def test_debug_off_requires_a_secret_key():
    result = _run(PRINT_SETTINGS, DEBUG="false", ALLOWED_HOSTS="flock.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="false",
        SECRET_KEY="k3y-" + "q8Zr!v2Lp@x7Wm#n4Tb$y6Hc%j9Fd^s1Ge&" * 2,
        ALLOWED_HOSTS="flock.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_the_suite_runs_on_the_database_named_by_database_url():
    wanted = os.environ.get("DATABASE_URL", "sqlite")
    if wanted.startswith(("postgres://", "postgresql://")):
        assert connection.vendor == "postgresql"
        assert connection.Database.__name__ == "psycopg"  # psycopg 3, not psycopg2
    else:
        assert connection.vendor == "sqlite"


def test_sign_in_throttling_is_read_from_the_environment():
    code = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps([settings.AXES_FAILURE_LIMIT, settings.FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT,
                  settings.AXES_COOLOFF_TIME.total_seconds(), settings.TRUSTED_PROXY_COUNT]))
"""
    result = _run(code)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [5, 30, 900, 0]
    result = _run(
        code,
        FLOCK_SIGN_IN_FAILURE_LIMIT="3",
        FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT="100",
        FLOCK_SIGN_IN_COOLOFF_MINUTES="60",
        TRUSTED_PROXY_COUNT="1",
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [3, 100, 3600, 1]
    refused = _run(code, FLOCK_SIGN_IN_FAILURE_LIMIT="0")
    assert refused.returncode != 0
    assert "FLOCK_SIGN_IN_FAILURE_LIMIT must be at least 1" in refused.stderr
