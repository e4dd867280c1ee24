"""Sessions read from Redis (config/sessions.py): a signed-in request costs no session query,
signing out (or an admin ending someone's sessions) ends the cached copy too, and a Redis that
cannot be reached is read around, from the database, without a failed page."""

import os
import socket

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.services.tokens import user_sessions_end
from config import sessions

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)"),
]

ENGINE = "config.sessions"


def _session_queries(client, url="/write/") -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return sum('"django_session"' in query["sql"] for query in queries.captured_queries)


@pytest.fixture
def cached_sessions(settings):
    settings.SESSION_ENGINE = ENGINE
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": f"{settings.FLOCK_REDIS_PREFIX}cache",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    sessions._skip_cache_until[0] = 0.0
    yield settings
    sessions._skip_cache_until[0] = 0.0


@pytest.fixture
def redis_down(cached_sessions):
    """The cache on a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cached_sessions.CACHES = {
        "default": {
            **cached_sessions.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{port}/14",
        }
    }
    return cached_sessions


def test_the_settings_choose_cached_sessions_with_redis():
    assert django_settings.SESSION_ENGINE == ENGINE
    assert django_settings.FLOCK_SESSION_CACHE_SECONDS > 0


def _copy_ttl(client) -> int:
    key = cache.make_and_validate_key(sessions.KEY_PREFIX + client.session.session_key)
    return cache._cache.get_client(key).ttl(key)


def test_a_signed_in_request_reads_its_session_from_redis(cached_sessions, alice_client):
    assert _session_queries(alice_client) == 0  # signing in wrote the copy
    assert _session_queries(alice_client, "/leaderboard/") == 0

    cache.delete(sessions.KEY_PREFIX + alice_client.session.session_key)  # evicted, say
    assert _session_queries(alice_client) == 1  # read from the database, and kept again
    assert _session_queries(alice_client) == 0


def test_the_copy_lives_at_most_the_setting(cached_sessions, client, alice):
    cached_sessions.FLOCK_SESSION_CACHE_SECONDS = 30
    client.force_login(alice)
    assert 0 < _copy_ttl(client) <= 30

    cache.delete(sessions.KEY_PREFIX + client.session.session_key)
    client.get("/write/")  # read from the database and kept again, as long
    assert 0 < _copy_ttl(client) <= 30


def test_signing_out_ends_the_cached_copy(cached_sessions, alice_client):
    assert _session_queries(alice_client) == 0
    cookie = alice_client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert alice_client.post("/accounts/sign-out/").status_code == 302

    alice_client.cookies[django_settings.SESSION_COOKIE_NAME] = cookie  # the old cookie again
    response = alice_client.get("/write/")
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


def test_an_admin_ending_someones_sessions_ends_the_cached_copies(
    cached_sessions, alice_client, alice
):
    assert _session_queries(alice_client) == 0  # held by Redis

    assert user_sessions_end(user=alice) == 1

    response = alice_client.get("/write/")
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


def test_a_changed_session_is_read_as_changed(cached_sessions, alice_client):
    alice_client.get("/write/")
    store = sessions.SessionStore(alice_client.session.session_key)
    store["chosen"] = "brainstorming"
    store.save()
    again = sessions.SessionStore(alice_client.session.session_key)
    with CaptureQueriesContext(connection) as queries:
        assert again["chosen"] == "brainstorming"
    assert not queries.captured_queries  # from Redis, as written


def test_a_forged_cookie_is_no_session_and_touches_no_cache(cached_sessions, client):
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "../../etc/passwd key with spaces"
    response = client.get("/write/")
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


def test_with_redis_down_pages_and_sign_out_work_from_the_database(
    redis_down, alice_client, caplog
):
    sessions._skip_cache_until[0] = 0.0  # signing in failed to write the copy already
    assert _session_queries(alice_client) == 1
    assert _session_queries(alice_client) == 1  # no copy to read: the database each time
    assert "read from the database" in caplog.text

    assert alice_client.post("/accounts/sign-out/").status_code == 302
    assert not Session.objects.exists()
    assert "may be read from the cache" in caplog.text


def test_after_a_failed_read_the_cache_is_skipped_for_a_while(
    redis_down, alice_client, monkeypatch
):
    alice_client.get("/write/")  # fails to reach Redis once
    attempts = []
    real_get = RedisCache.get
    monkeypatch.setattr(
        RedisCache, "get", lambda self, *a, **kw: attempts.append(a) or real_get(self, *a, **kw)
    )
    assert _session_queries(alice_client) == 1
    assert not [key for key in attempts if sessions.KEY_PREFIX in key[0]]  # no wait on Redis

    monkeypatch.setattr(sessions, "_skip_cache_until", [0.0])  # the while is over
    assert _session_queries(alice_client) == 1
    assert [key for key in attempts if sessions.KEY_PREFIX in key[0]]  # tried again
