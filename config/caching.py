"""Values the whole site reuses for a few seconds instead of reading them on every request, kept
in Django's cache (Redis when REDIS_URL is set; without it, each process keeps its own): the one
home of how they are read, kept and forgotten, and of what a request does when Redis cannot be
reached (it computes the value itself)."""

import contextlib
from collections.abc import Callable

from django.core.cache import cache
from redis.exceptions import RedisError


def remembered[T](key: str, seconds: int, compute: Callable[[], T]) -> T:
    """compute()'s value, or the one kept under `key` at most `seconds` ago (0: computed now).

    A value computed here is kept only where none is (cache.add): a request that computed it
    just before a change committed cannot overwrite what the change put there (remember)."""
    if not seconds:
        return compute()
    try:
        value = cache.get(key)
    except RedisError:
        return compute()
    if value is None:
        value = compute()
        with contextlib.suppress(RedisError):
            cache.add(key, value, seconds)
    return value


def remember(key: str, value, seconds: int) -> None:
    """Keep `value` under `key` for `seconds`, over whatever is there."""
    with contextlib.suppress(RedisError):
        cache.set(key, value, seconds)


def forget(key: str) -> None:
    """Drop what is kept under `key`: the next read computes it."""
    with contextlib.suppress(RedisError):
        cache.delete(key)
