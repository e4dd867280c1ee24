"""Values the whole site reuses for a few seconds instead of reading them on every request, kept
in Django's cache (Redis when REDIS_URL is set; without it, each process keeps its own): the one
home of how they are read, kept and forgotten, and of what a request does when Redis cannot be
reached (it computes the value itself).

After any failed cache operation, this process reads around the cache for SKIP_AFTER_FAILURE
seconds (cache_skipped): the values are computed and the sessions read from the database
(config/sessions.py), instead of every request waiting for Redis's timeout. What changes a
value (remember, forget) always tries the cache, so that skipping never leaves a stale value
behind.
"""

import logging
import time
from collections.abc import Callable

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

SKIP_AFTER_FAILURE = 5.0  # seconds

_skip_until = [0.0]  # this process's: monotonic time


def cache_skipped() -> bool:
    """Whether this process reads around the cache for now (a cache operation failed less than
    SKIP_AFTER_FAILURE seconds ago)."""
    return time.monotonic() < _skip_until[0]


def cache_failed(operation: str) -> None:
    """Call when a cache operation failed: reads go around the cache for a while. `operation`
    names it in the log ("a read", "a write", "a delete"); the traceback is logged when a while
    starts, not at every failure within it (what changes a value keeps trying)."""
    starting = not cache_skipped()
    _skip_until[0] = time.monotonic() + SKIP_AFTER_FAILURE
    logger.warning(
        "The cache failed %s; this process reads around it for %s s (sessions from the "
        "database, reused values computed afresh).",
        operation,
        SKIP_AFTER_FAILURE,
        exc_info=starting,
    )


def remembered[T](key: str, seconds: int, compute: Callable[[], T]) -> T:
    """compute()'s value, or the one kept under `key` at most `seconds` ago (0: computed now).

    A value computed here is kept only where none is (cache.add): a request that computed it
    just before a change committed cannot overwrite what the change put there (remember)."""
    if not seconds or cache_skipped():
        return compute()
    try:
        value = cache.get(key)
    except RedisError:
        cache_failed("a read")
        return compute()
    if value is None:
        value = compute()
        try:
            cache.add(key, value, seconds)
        except RedisError:
            cache_failed("a write")
    return value


def remember(key: str, value, seconds: int) -> None:
    """Keep `value` under `key` for `seconds`, over whatever is there."""
    try:
        cache.set(key, value, seconds)
    except RedisError:
        cache_failed("a write")


def forget(key: str) -> None:
    """Drop what is kept under `key`: the next read computes it."""
    try:
        cache.delete(key)
    except RedisError:
        cache_failed("a delete")
