"""Benchmark the leaderboard at company scale: 100,000 users and 1,000,000 score events.

Prints the time to read a board (the top 50, plus the viewer's rank and two neighbours each
side) from the Redis sorted set and, for comparison, by SQL aggregation over the ledger per
request; the time to rebuild the board from the ledger; and the time to finalise a contest.
Needs PostgreSQL (DATABASE_URL) for realistic figures and REDIS_URL for the Redis read.

    .venv/bin/python -m bench.leaderboard [--users 100000] [--events 1000000] [--reads 500]
"""

import argparse
import os
import random
import time

from bench.common import percentiles, throwaway_database  # sets Django up: import it first

# isort: split
import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from leaderboard import boards, selectors, services
from leaderboard.models import Contest, ScoreEvent


def fill(users: int, events: int) -> tuple[list[int], Contest]:
    User = get_user_model()
    now = timezone.now()
    contest = Contest.objects.create(
        name="Bench week",
        starts_at=now - datetime.timedelta(days=8),
        ends_at=now - datetime.timedelta(days=2),
        grace_ends_at=now - datetime.timedelta(hours=1),  # its grace period over: due to finalise
    )
    ids = []
    for start in range(0, users, 10_000):
        created = User.objects.bulk_create(
            [
                User(username=f"u{i}", email=f"u{i}@example.com")
                for i in range(start, min(start + 10_000, users))
            ]
        )
        ids.extend(u.pk for u in created)
    rng = random.Random(7)
    # A long tail: a few people earn most of the points, as in a real drive.
    weights = [1 / (rank + 10) for rank in range(users)]
    with connection.cursor() as cursor:
        for start in range(0, events, 50_000):
            batch = min(50_000, events - start)
            owners = rng.choices(ids, weights=weights, k=batch)
            rows = [
                (
                    "entry_accepted" if n % 5 == 0 else "review_agreed",
                    f"bench:{start + n}",
                    owner,
                    15 if n % 5 == 0 else 2,
                    contest.pk if n % 3 else None,
                    "bench",
                    now,
                )
                for n, owner in enumerate(owners)
            ]
            cursor.executemany(
                f"INSERT INTO {ScoreEvent._meta.db_table} "
                "(kind, object_key, user_id, points, contest_id, reason, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    return ids, contest


def time_reads(board: str, viewers: list[int], reads: int) -> list[float]:
    samples = []
    for viewer in viewers[:reads]:
        t = time.perf_counter()
        top, _around = boards.read_top_and_around(board, size=50, member=viewer)
        samples.append((time.perf_counter() - t) * 1000)
        assert len(top) == 50
    return samples


def time_pages(viewers: list[int], reads: int) -> list[float]:
    """The full read behind /leaderboard/?scope=all-time: the board plus names and counts."""
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=viewers[:reads])}
    samples = []
    for viewer in viewers[:reads]:
        t = time.perf_counter()
        selectors.board_all_time(viewer=users[viewer])
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--sql-reads", type=int, default=20)
    args = parser.parse_args()

    # Our own keys, whatever FLOCK_REDIS_PREFIX says, so a shared Redis's boards are untouched.
    settings.FLOCK_REDIS_PREFIX = f"flock-bench-{os.getpid()}:"
    with throwaway_database():
        print(f"database: {connection.vendor}  redis: {'yes' if settings.REDIS_URL else 'no'}")
        started = time.perf_counter()
        ids, contest = fill(args.users, args.events)
        print(
            f"fill: {args.users:,} users, {args.events:,} events in {time.perf_counter() - started:.1f} s"
        )
        viewers = random.Random(3).sample(ids, min(args.reads, len(ids)))

        redis_url = settings.REDIS_URL
        if redis_url:
            t = time.perf_counter()
            size = boards.rebuild(boards.ALL)
            print(
                f"rebuild all-time board from the ledger: {time.perf_counter() - t:.2f} s "
                f"({size:,} members)"
            )
            t = time.perf_counter()
            boards.rebuild(boards.contest_board(contest.pk))
            print(f"rebuild contest board: {time.perf_counter() - t:.2f} s")
            redis_reads = time_reads(boards.ALL, viewers, args.reads)
            print(f"read top 50 + rank + neighbours, Redis: {percentiles(redis_reads)}")
            page_reads = time_pages(viewers, args.reads)
            print(
                f"the whole board as a page shows it (+ names, counts): {percentiles(page_reads)}"
            )
        settings.REDIS_URL = ""  # the same read, answered by SQL over the ledger
        sql_reads = time_reads(boards.ALL, viewers, args.sql_reads)
        settings.REDIS_URL = redis_url
        print(
            f"read top 50 + rank + neighbours, SQL aggregation per request: {percentiles(sql_reads)}"
        )

        t = time.perf_counter()
        services.contest_finalize(contest=contest)
        print(
            f"finalise the contest (freeze standings): {time.perf_counter() - t:.2f} s "
            f"({contest.standings.count():,} standings)"
        )
        if settings.REDIS_URL:
            keys = list(boards.redis_client().scan_iter(f"{settings.FLOCK_REDIS_PREFIX}*"))
            boards.redis_client().delete(*keys)


if __name__ == "__main__":
    main()
