"""Benchmark the review queue: "Review next" over a large pool, serially and with many reviewers.

"Review next" runs SELECT … FOR UPDATE SKIP LOCKED over every submitted entry the reviewer has not
reviewed or skipped, fewest reviews first. This fills a throwaway test database (SQLite, or
PostgreSQL when DATABASE_URL names it) with POOL submitted entries and prints the latency of
handing out work and of recording a review, then the throughput of THREADS reviewers at once.

    .venv/bin/python -m bench.review [--pool 100000] [--threads 20] [--seconds 10]
"""

import argparse
import random
import threading
import time

from bench.common import percentiles, throwaway_database  # sets Django up: import it first

# isort: split
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from annotation import services
from annotation.models import Category, Entry, EntryStatus


def fill(pool: int, reviewers: int):
    User = get_user_model()
    authors = User.objects.bulk_create(
        [User(username=f"author{i}", email=f"a{i}@example.com") for i in range(500)]
    )
    people = User.objects.bulk_create(
        [User(username=f"reviewer{i}", email=f"r{i}@example.com") for i in range(reviewers)]
    )
    categories = list(Category.objects.all())
    now = timezone.now()
    batch = []
    for i in range(pool):
        batch.append(
            Entry(
                author=authors[i % len(authors)],
                category=categories[i % len(categories)],
                status=EntryStatus.SUBMITTED,
                instruction=f"Question {i}?",
                response="An answer. " * 20,
                submitted_at=now - timezone.timedelta(seconds=pool - i),
                review_count=i % 3 if i % 7 else 0,
            )
        )
        if len(batch) == 5000:
            Entry.objects.bulk_create(batch)
            batch = []
    Entry.objects.bulk_create(batch)
    return people


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    with throwaway_database():
        print(f"database: {connection.vendor}  pool: {args.pool:,} submitted entries")
        started = time.perf_counter()
        reviewers = fill(args.pool, args.threads)
        print(f"fill: {time.perf_counter() - started:.1f} s")

        reviewer = reviewers[0]
        next_ms, review_ms = [], []
        for _ in range(300):
            t = time.perf_counter()
            entry = services.review_next(reviewer=reviewer)
            next_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            services.review_record(entry=entry, reviewer=reviewer, verdict="approve", rating=4)
            review_ms.append((time.perf_counter() - t) * 1000)
        print(f"review next (one reviewer): {percentiles(next_ms)}")
        print(f"record a review:            {percentiles(review_ms)}")

        if connection.vendor != "postgresql":
            print("concurrent reviewers: skipped (needs PostgreSQL; set DATABASE_URL)")
            return
        done = [0] * args.threads
        deadline = time.monotonic() + args.seconds

        def work(n):
            rng = random.Random(n)
            try:
                while time.monotonic() < deadline:
                    entry = services.review_next(reviewer=reviewers[n])
                    if entry is None:
                        return
                    verdict = rng.choice(["approve", "approve", "reject"])
                    services.review_record(
                        entry=entry,
                        reviewer=reviewers[n],
                        verdict=verdict,
                        rating=3,
                        reasons=["other"] if verdict == "reject" else [],
                    )
                    done[n] += 1
            finally:
                connection.close()

        threads = [threading.Thread(target=work, args=(n,)) for n in range(args.threads)]
        t = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - t
        print(
            f"{args.threads} reviewers at once: {sum(done):,} reviews in {elapsed:.1f} s "
            f"= {sum(done) / elapsed:,.0f} reviews/s (next + review each)"
        )


if __name__ == "__main__":
    main()
