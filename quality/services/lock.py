"""One corpus rescan at a time, whichever worker on whichever machine starts it.

Two rescans at once would race each other's flag and cluster writes. A beat sends the nightly
rescan once, but a second beat by mistake, a moderator's rescan or a snapshot build's (each
build rescans what changed first) can meet it. On PostgreSQL the lock is a session-level
advisory lock, so a worker that dies holding it lets go with its connection: nothing stays
locked after a crash. On SQLite (one machine, `make run`) a lock of this process stands in.
"""

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection

# The advisory lock's key: a fixed 64-bit number, the same in every process.
RESCAN_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"flock:quality_rescan").digest()[:8], "big", signed=True
)
_in_process = threading.RLock()  # re-entrant, as an advisory lock is within its session


class RescanBusy(Exception):
    """Another rescan of the corpus is running."""


@contextmanager
def rescan_lock(*, wait: bool) -> Iterator[None]:
    """Hold the rescan lock for the block: wait for it, or raise RescanBusy at once when
    another rescan holds it."""
    if connection.vendor != "postgresql":
        if not _in_process.acquire(blocking=wait):
            raise RescanBusy("Another rescan is running.")
        try:
            yield
        finally:
            _in_process.release()
        return
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s)", [RESCAN_LOCK_KEY])
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [RESCAN_LOCK_KEY])
            if not cursor.fetchone()[0]:
                raise RescanBusy("Another rescan is running.")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [RESCAN_LOCK_KEY])
        except DatabaseError:
            # The connection is broken or its transaction aborted: closing it lets go.
            connection.close()
