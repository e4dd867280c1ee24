"""The periodic jobs, run the way they run in production: in-process without Redis, and through
a real Celery worker on the Redis broker when REDIS_URL is set (as in CI)."""

import os

import pytest
from django.conf import settings

from leaderboard import tasks
from leaderboard.models import Contest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_weekly_job_makes_this_weeks_contest_once(worker):
    first = tasks.contests_tick.delay().get(timeout=30)
    second = tasks.contests_tick.delay().get(timeout=30)
    assert first == second
    assert Contest.objects.count() == 1
    assert first["week"] == Contest.objects.get().pk


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL (CI does)")
def test_with_redis_the_jobs_go_through_the_broker_to_a_worker(worker):
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    result = tasks.boards_check.delay()
    assert result.get(timeout=30) == []
    assert result.successful() and result.backend.__class__.__name__ == "RedisBackend"
