"""Shared by the benchmarks: Django set up on the project's settings, a throwaway test database
(SQLite, or PostgreSQL when DATABASE_URL names it), and latency percentiles.

Import this module first: it configures Django before any model is imported.
"""

import os
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402


@contextmanager
def throwaway_database(*, keep: bool = False) -> Iterator[None]:
    """Create a test database (test_<name>), migrated and seeded, and drop it afterwards; with
    `keep`, reuse one left by an earlier run (migrated to the current code) and leave it."""
    # Nothing serialised for serialized_rollback: no benchmark rolls back to it, and a kept
    # database of a million entries would be read whole into one string.
    old_config = setup_databases(
        verbosity=0, interactive=False, keepdb=keep, serialized_aliases=set()
    )
    try:
        yield
    finally:
        teardown_databases(old_config, verbosity=0, keepdb=keep)


def throwaway_database_url() -> str:
    """DATABASE_URL naming the throwaway database this process is on (test_<name>), for the
    processes a benchmark starts on it."""
    return (
        urlsplit(os.environ["DATABASE_URL"])
        ._replace(path=f"/{connection.settings_dict['NAME']}")
        .geturl()
    )


def percentiles(samples_ms: list[float]) -> str:
    samples = sorted(samples_ms)

    def at(q: float) -> float:
        return samples[min(len(samples) - 1, int(q * len(samples)))]

    return (
        f"p50 {at(0.50):.2f} ms  p95 {at(0.95):.2f} ms  p99 {at(0.99):.2f} ms  "
        f"max {samples[-1]:.2f} ms  mean {statistics.fmean(samples):.2f} ms  (n={len(samples)})"
    )
