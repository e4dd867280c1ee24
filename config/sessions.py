"""Sessions kept in the database and read from the cache (Redis): SESSION_ENGINE when REDIS_URL
is set.

Every signed-in request reads its session; with the database engine alone that is a query a
request (8% of a gunicorn worker's time in bench.load). Here the database stays the truth (a
session is written there first, and deleted there first), and Redis keeps a copy for at most
FLOCK_SESSION_CACHE_SECONDS, which most requests read instead.

Django's own cached_db engine does the same, but a Redis that cannot be reached fails its
requests: its load's cache write and its delete let the error through (a 500 on every page while
Redis is down, and a sign-out that fails). Here every cache operation that fails is logged and
read around, from the database. What a failure can leave behind is bounded by the copy's
lifetime: a session deleted (signed out, ended by an admin) or changed while Redis could not be
reached, and still held by a Redis that comes back, is read from that copy for at most
FLOCK_SESSION_CACHE_SECONDS.

A deleted session's copy is replaced by a DELETED mark that lives as long as a copy could, and
a copy is put back after a database read only where there is none (Redis's SET NX): a request
that read the row just before someone signed out cannot put the signed-out session back.

After any failed cache operation (here or in config/caching.py: one Redis), this process reads
sessions from the database for caching.SKIP_AFTER_FAILURE seconds instead of waiting on Redis's
timeout on every request. Saves and deletes always try the cache, so that skipping never leaves
a stale copy behind.

Every web process must use this engine while any does: one on Django's database engine deletes
rows without marking their copies (switching REDIS_URL or FLOCK_SESSION_CACHE_SECONDS off and
back on leaves copies that live at most FLOCK_SESSION_CACHE_SECONDS).
"""

import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.core.cache import caches

from config.caching import cache_failed, cache_skipped

logger = logging.getLogger(__name__)

KEY_PREFIX = "session:"
DELETED = "deleted"  # a deleted session's mark in the cache


class SessionStore(DatabaseStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = caches[settings.SESSION_CACHE_ALIAS]

    def _cache_key(self, session_key: str | None) -> str | None:
        # Django's keys are 32 lower-case letters and digits; anything else (a forged cookie)
        # is no session and is left to the database look-up, which finds none.
        if session_key and session_key.isascii() and session_key.isalnum():
            return KEY_PREFIX + session_key
        return None

    def _lifetime(self, **expiry) -> int:
        """How long a copy may live: the setting's seconds, or less if the session expires
        sooner (`expiry`: the row's expire_date; without it, the session's own expiry)."""
        age = self.get_expiry_age(**expiry)
        return max(0, min(settings.FLOCK_SESSION_CACHE_SECONDS, age))

    def load(self):
        key = self._cache_key(self.session_key)
        reading = key is not None and not cache_skipped()
        if reading:
            try:
                data = self._cache.get(key)
            except Exception:
                cache_failed("a read")
                reading = False
            else:
                if data == DELETED:
                    self._session_key = None
                    return {}
                if data is not None:
                    return data
        row = self._get_session_from_db()
        if row is None:
            return {}
        data = self.decode(row.session_data)
        seconds = self._lifetime(expiry=row.expire_date)
        if reading and seconds > 0:
            try:
                self._cache.add(key, data, seconds)  # never over a newer copy or a DELETED mark
            except Exception:
                cache_failed("a write")
        return data

    def save(self, must_create=False):
        super().save(must_create)
        key = self._cache_key(self.session_key)
        if key is None:
            return
        seconds = self._lifetime()
        try:
            if seconds > 0:
                self._cache.set(key, self._session, seconds)
            else:
                self._cache.delete(key)
        except Exception:
            cache_failed("a write")

    def delete(self, session_key=None):
        super().delete(session_key)
        key = self._cache_key(session_key if session_key is not None else self.session_key)
        if key is None:
            return
        try:
            self._cache.set(key, DELETED, settings.FLOCK_SESSION_CACHE_SECONDS)
        except Exception:
            cache_failed("a delete")
            logger.error(
                "A deleted session may be read from the cache for up to %s s more, if the "
                "cache still holds it when it answers again.",
                settings.FLOCK_SESSION_CACHE_SECONDS,
            )

    # The async variants go through the same code: the database's own would skip the cache.
    async def aload(self):
        return await sync_to_async(self.load)()

    async def asave(self, must_create=False):
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key=None):
        await sync_to_async(self.delete)(session_key)
