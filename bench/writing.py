"""Benchmark the writing hot paths: autosave (entry_update) and the category page's progress query.

5,000 writers typing means autosaves arrive constantly, and every visit to /write/ counts entries
per category. This builds a throwaway test database (SQLite, or PostgreSQL when DATABASE_URL names
it), fills it with ENTRIES entries, and prints latency percentiles.

    .venv/bin/python -m bench.writing [--entries 100000] [--saves 2000]
"""

import argparse
import time

from bench.common import percentiles, throwaway_database  # sets Django up: import it first

# isort: split
from django.contrib.auth import get_user_model
from django.db import connection

from annotation import selectors, services
from annotation.models import Category, Entry, EntryStatus


def fill(entries: int) -> list:
    User = get_user_model()
    writers = User.objects.bulk_create(
        [User(username=f"writer{i}", email=f"writer{i}@example.com") for i in range(1000)]
    )
    categories = list(Category.objects.all())
    statuses = [
        EntryStatus.ACCEPTED,
        EntryStatus.SUBMITTED,
        EntryStatus.DRAFT,
        EntryStatus.REJECTED,
    ]
    batch = []
    from django.utils import timezone

    now = timezone.now()
    for i in range(entries):
        status = statuses[i % len(statuses)]
        batch.append(
            Entry(
                author=writers[i % len(writers)],
                category=categories[i % len(categories)],
                status=status,
                instruction=f"Question number {i} about something worth asking?",
                response="An answer of a sensible length. " * 8,
                submitted_at=None if status == EntryStatus.DRAFT else now,
            )
        )
        if len(batch) == 5000:
            Entry.objects.bulk_create(batch)
            batch = []
    Entry.objects.bulk_create(batch)
    return writers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--saves", type=int, default=2_000)
    args = parser.parse_args()

    with throwaway_database():
        print(f"database: {connection.vendor}  entries: {args.entries:,}")
        started = time.perf_counter()
        writers = fill(args.entries)
        print(f"fill: {time.perf_counter() - started:.1f} s")

        samples = []
        for _ in range(50):
            t = time.perf_counter()
            selectors.category_list_with_progress()
            samples.append((time.perf_counter() - t) * 1000)
        print(f"category progress (/write/): {percentiles(samples)}")

        writer = writers[0]
        draft = services.entry_create(
            author=writer, category=Category.objects.get(slug="open_qa"), values={}
        )
        text = "Why is the sky blue? "
        samples = []
        for i in range(args.saves):
            t = time.perf_counter()
            services.entry_update(
                entry=draft, actor=writer, values={"instruction": text, "response": "x" * (i + 1)}
            )
            samples.append((time.perf_counter() - t) * 1000)
        print(f"autosave (entry_update, one revision each): {percentiles(samples)}")
        print(f"revisions stored for the draft: {draft.revisions.count():,}")


if __name__ == "__main__":
    main()
