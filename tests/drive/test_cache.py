"""The figures are computed by the beat job (drive.tasks.drive_refresh) every
FLOCK_DRIVE_CACHE_SECONDS and read from the cache by the page and the API; a request computes only
when nothing servable is cached (no beat running), and then one request at a time."""

import datetime
import threading
import time

import pytest
from django.core.cache import cache

from drive import figures as drive_figures_module
from drive.figures import cache_key, drive_figures, figures_compute, figures_refresh, lock_key
from drive.tasks import drive_refresh
from tests.drive.conftest import T0, entry
from tests.drive.conftest import person as make_person


def store_later(figures) -> None:
    """The other computer storing its figures a moment from now. A plain sleep, not
    threading.Timer: under libfaketime (CI's clock runs) a timed wait may never return."""
    time.sleep(0.3)
    cache.set(cache_key(), figures)


pytestmark = pytest.mark.django_db

# Session, user and profile look-ups of a signed-in page; the figures take about twenty queries.
PAGE_QUERIES = 8


def in_review(client) -> int:
    body = client.get("/api/v1/drive/progress/").json()
    return sum(row["in_review"] for row in body["categories"])


def test_the_job_fills_the_cache_and_pages_then_compute_nothing(
    client, carol, time_machine, eager_celery, django_assert_max_num_queries, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as with a broker: beat runs the job
    time_machine.move_to(T0, tick=False)
    entry(make_person("alice"), submitted_at=T0)
    assert drive_refresh.delay().get() == T0.isoformat()
    client.force_login(carol)
    with django_assert_max_num_queries(PAGE_QUERIES):
        page = client.get("/drive/")
    assert "As of 12:00, refreshed every minute." in page.content.decode()
    with django_assert_max_num_queries(PAGE_QUERIES):
        assert in_review(client) == 1


def test_each_run_of_the_job_shows_what_happened_since(client, carol, time_machine):
    time_machine.move_to(T0, tick=False)
    alice = make_person("alice")
    entry(alice, submitted_at=T0)
    figures_refresh()
    client.force_login(carol)
    assert in_review(client) == 1

    entry(alice, submitted_at=T0)
    time_machine.move_to(T0 + datetime.timedelta(seconds=70), tick=False)
    assert in_review(client) == 1  # the job is a little late: the figures of 12:00 still serve
    assert "As of 12:00" in client.get("/drive/").content.decode()
    figures_refresh()
    assert in_review(client) == 2
    assert "As of 12:01" in client.get("/drive/").content.decode()


def test_without_the_job_a_request_computes_once_the_figures_are_three_intervals_old(
    client, carol, time_machine, settings
):
    settings.FLOCK_DRIVE_CACHE_SECONDS = 300
    time_machine.move_to(T0, tick=False)
    client.force_login(carol)
    assert in_review(client) == 0  # nothing cached: this request computed
    entry(make_person("alice"), submitted_at=T0)
    time_machine.move_to(T0 + datetime.timedelta(seconds=899), tick=False)
    assert in_review(client) == 0
    settings.CELERY_TASK_ALWAYS_EAGER = True  # no broker, so no beat: the page says so
    assert "recomputed when 15 minutes old" in client.get("/drive/").content.decode()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert "refreshed every 5 minutes" in client.get("/drive/").content.decode()
    time_machine.move_to(T0 + datetime.timedelta(seconds=900), tick=False)
    assert in_review(client) == 1


def test_a_request_waits_for_the_one_computing_instead_of_computing_too(
    carol, time_machine, django_assert_max_num_queries
):
    time_machine.move_to(T0, tick=False)
    entry(make_person("alice"), submitted_at=T0)
    theirs = figures_compute(now=T0)
    assert cache.add(lock_key(), "another process", timeout=60)  # it is computing
    threading.Thread(target=store_later, args=(theirs,)).start()
    with django_assert_max_num_queries(0):
        assert drive_figures().computed_at == theirs.computed_at


def test_after_a_bounded_wait_a_request_computes_anyway(carol, time_machine, monkeypatch):
    time_machine.move_to(T0, tick=False)
    monkeypatch.setattr(drive_figures_module, "WAIT_SECONDS", 0.3)
    assert cache.add(lock_key(), "a process that died", timeout=60)
    entry(make_person("alice"), submitted_at=T0)
    assert drive_figures().summary.waiting == 1
    assert cache.get(lock_key()) == "a process that died"  # not ours to release: it lapses


def test_the_computing_request_releases_the_lock(carol, time_machine):
    time_machine.move_to(T0, tick=False)
    drive_figures()
    assert cache.get(lock_key()) is None
    figures_refresh()
    assert cache.get(lock_key()) is None


def test_with_redis_down_the_figures_are_computed_and_redis_left_alone_for_a_while(
    carol, time_machine, cache_unreachable, monkeypatch, caplog
):
    """A failed cache operation starts config/caching.py's while of reading around Redis for
    the drive figures too: computed, and not one more wait on Redis until the while is over."""
    from django.core.cache.backends.redis import RedisCache

    from config import caching

    monkeypatch.setattr(caching, "SKIP_AFTER_FAILURE", 3600.0)  # no race with the clock
    time_machine.move_to(T0, tick=False)
    entry(make_person("alice"), submitted_at=T0)

    assert drive_figures().computed_at == T0
    assert "The cache failed a read (the drive figures" in caplog.text
    asked = []
    for name in ("get", "add", "set", "delete"):
        real = getattr(RedisCache, name)
        monkeypatch.setattr(
            RedisCache,
            name,
            lambda self, *a, real=real, **kw: asked.append(a) or real(self, *a, **kw),
        )
    again = drive_figures()
    assert again.computed_at == T0
    assert [name for name, *_ in asked if name in (cache_key(), lock_key())] == [cache_key()]
