"""Sessions read from Redis (config/sessions.py): a signed-in request costs no session query,
signing out (or an admin ending someone's sessions) ends the cached copy too, and a Redis that
cannot be reached is read around, from the database, without a failed page."""

import datetime
import os

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.services.tokens import user_sessions_end
from config import caching, sessions

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
    yield settings


@pytest.fixture
def redis_down(cached_sessions, cache_unreachable):
    """The cached sessions' engine, its cache on a port nothing listens on."""
    return cache_unreachable


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


def test_a_session_that_expires_sooner_is_kept_no_longer(cached_sessions, alice_client):
    store = sessions.SessionStore(alice_client.session.session_key)
    store.set_expiry(5)
    store.save()
    assert 0 < _copy_ttl(alice_client) <= 5

    store.set_expiry(datetime.timedelta(seconds=-1))  # already over
    store.save()
    assert cache.get(sessions.KEY_PREFIX + store.session_key) is None


def test_signing_out_ends_the_cached_copy(cached_sessions, alice_client):
    assert _session_queries(alice_client) == 0
    cookie = alice_client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert alice_client.post("/accounts/sign-out/").status_code == 302

    alice_client.cookies[django_settings.SESSION_COOKIE_NAME] = cookie  # the old cookie again
    response = alice_client.get("/write/")
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


def test_a_request_that_read_the_session_before_a_sign_out_cannot_put_it_back(
    cached_sessions, alice_client, monkeypatch
):
    key = alice_client.session.session_key
    late = sessions.SessionStore(key)
    row = late._get_session_from_db()  # read just before the sign-out below
    assert alice_client.post("/accounts/sign-out/").status_code == 302

    # The late request missed the cache before the sign-out and now keeps what it read.
    monkeypatch.setattr(late._cache, "get", lambda *args, **kwargs: None)
    monkeypatch.setattr(late, "_get_session_from_db", lambda: row)
    assert late.load()  # it still serves its own request with what it read

    monkeypatch.undo()
    assert cache.get(sessions.KEY_PREFIX + key) == sessions.DELETED
    assert sessions.SessionStore(key).load() == {}  # nobody after it is signed in


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


def test_a_forged_cookie_is_no_session_and_touches_no_cache(cached_sessions, client, monkeypatch):
    asked = []
    for name in ("get", "add", "set"):
        real = getattr(RedisCache, name)
        monkeypatch.setattr(
            RedisCache,
            name,
            lambda self, key, *a, real=real, **kw: asked.append(key) or real(self, key, *a, **kw),
        )
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "../../etc/passwd key with spaces"
    response = client.get("/write/")
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]
    assert not [key for key in asked if key.startswith(sessions.KEY_PREFIX)]


def test_with_redis_down_pages_and_sign_out_work_from_the_database(
    redis_down, alice_client, caplog
):
    caching._skip_until[0] = 0.0  # signing in failed to write the copy already
    assert _session_queries(alice_client) == 1
    assert _session_queries(alice_client) == 1  # no copy to read: the database each time
    assert "reads around it" in caplog.text

    assert alice_client.post("/accounts/sign-out/").status_code == 302
    assert not Session.objects.exists()
    assert "may be read from the cache" in caplog.text


def test_after_a_failed_read_the_cache_is_skipped_for_a_while(
    redis_down, alice_client, monkeypatch, caplog
):
    monkeypatch.setattr(caching, "SKIP_AFTER_FAILURE", 3600.0)  # no race with the clock
    caching._skip_until[0] = 0.0  # signing in failed to write the copy already
    alice_client.get("/write/")  # fails to reach Redis once
    assert "failed a read" in caplog.text
    attempts = []
    real_get = RedisCache.get
    monkeypatch.setattr(
        RedisCache, "get", lambda self, *a, **kw: attempts.append(a) or real_get(self, *a, **kw)
    )
    assert _session_queries(alice_client) == 1
    assert not [key for key in attempts if sessions.KEY_PREFIX in key[0]]  # no wait on Redis

    monkeypatch.setattr(caching, "_skip_until", [0.0])  # the while is over
    assert _session_queries(alice_client) == 1
    assert [key for key in attempts if sessions.KEY_PREFIX in key[0]]  # tried again


def test_after_a_failure_the_values_the_site_reuses_skip_the_cache_too(
    redis_down, alice_client, monkeypatch, caplog
):
    """config/caching.py shares the sessions' while: a failure there or here, and neither the
    session nor the reused values (the category counts, the reference-corpus flag) wait on
    Redis until it is over."""
    monkeypatch.setattr(caching, "SKIP_AFTER_FAILURE", 3600.0)  # no race with the clock
    caching._skip_until[0] = 0.0  # signing in failed to write the copy already
    assert caching.remembered("probe", 30, lambda: 41) == 41  # computed: Redis is down
    assert "failed a read" in caplog.text
    attempts = []
    real_get = RedisCache.get
    monkeypatch.setattr(
        RedisCache, "get", lambda self, *a, **kw: attempts.append(a) or real_get(self, *a, **kw)
    )

    assert caching.remembered("probe", 30, lambda: 42) == 42
    assert _session_queries(alice_client) == 1  # the writing page: its session and its counts
    assert attempts == []  # nobody waited on Redis

    monkeypatch.setattr(caching, "_skip_until", [0.0])  # the while is over
    assert caching.remembered("probe", 30, lambda: 43) == 43
    assert attempts  # tried again
