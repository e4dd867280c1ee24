"""One corpus rescan at a time (quality/services/lock.py): while another session holds the lock,
a rescan that may not wait stands down, and one that waits runs once it is free."""

import threading
import time

import psycopg
import pytest
from django.db import connection

from quality import services, tasks
from quality.models import ScanMark
from quality.services.lock import RESCAN_LOCK_KEY

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held_elsewhere(postgresql, seeded):
    """The lock held by another session, as a rescan on another worker holds it."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [RESCAN_LOCK_KEY])
        yield other
        other.execute("SELECT pg_advisory_unlock_all()")


def test_a_rescan_that_may_not_wait_stands_down_while_another_runs(held_elsewhere):
    with pytest.raises(services.RescanBusy):
        services.quality_rescan(wait=False)
    assert tasks.quality_rescan.apply().get() == {"skipped": "another rescan is running"}
    assert not ScanMark.objects.exists()  # nothing was scanned


def _waiting_for_the_lock(session) -> bool:
    return (
        session.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()[0]
        > 0
    )


def test_a_rescan_that_waits_runs_when_the_other_is_done(held_elsewhere):
    finished = threading.Event()

    def rescan():
        try:
            services.quality_rescan(wait=True)
            finished.set()
        finally:
            connection.close()

    waiting = threading.Thread(target=rescan)
    waiting.start()
    # Polled a bounded number of times, never with a timed wait: under libfaketime (CI's
    # calendar runs) the clock stands still and a timed wait would never end.
    for _ in range(400):
        if _waiting_for_the_lock(held_elsewhere):
            break
        time.sleep(0.025)
    assert _waiting_for_the_lock(held_elsewhere)  # it asked for the lock, and waits
    assert not finished.is_set()
    held_elsewhere.execute("SELECT pg_advisory_unlock(%s)", [RESCAN_LOCK_KEY])
    waiting.join()
    assert finished.is_set()
    assert ScanMark.objects.filter(name="duplicates").exists()


def test_the_lock_is_free_again_after_a_rescan(postgresql, seeded):
    services.quality_rescan(wait=False)
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        taken = other.execute("SELECT pg_try_advisory_lock(%s)", [RESCAN_LOCK_KEY]).fetchone()[0]
        assert taken
