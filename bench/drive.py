"""Benchmark the drive dashboard at company scale: 5,000 people in teams and 150,000 entries.

Fills a throwaway test database (PostgreSQL when DATABASE_URL names it, with COPY; SQLite
otherwise) with a week of a drive: entries in every state with their reviews, decisions, flags,
gold answers and one planted review ring. Then times what organisers get: the refresh job
(drive.tasks.drive_refresh: the figures computed into the cache), /drive/ and the three API
endpoints (JSON and CSV) served with the job having run, and the cold first request (nothing
cached: the request computes). Target: the page as served, p95 under 300 ms.

    .venv/bin/python -m bench.drive [--users 5000] [--entries 150000] [--warm 200] [--cold 5]
        [--refreshes 5] [--profile]
"""

import argparse
import cProfile
import datetime
import pstats
import random
import time
import uuid

from bench.common import percentiles, throwaway_database  # sets Django up: import it first

# isort: split
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection
from django.test import Client
from django.utils import timezone

from annotation.models import (
    Category,
    Decision,
    Entry,
    Flag,
    GoldEntry,
    GoldReview,
    Profile,
    RejectReason,
    Review,
    Team,
)
from drive.figures import figures_compute, figures_forget, figures_refresh
from leaderboard.models import Contest

TEAMS = 60
REASONS = [reason for reason in RejectReason.values if reason != "other"]
FLAG_KINDS = ["exact_duplicate", "near_duplicate", "personal_data", "ai_text", "citation_markers"]


def insert(model, rows: list[dict]) -> None:
    """Rows (with their ids) straight into the model's table: COPY on PostgreSQL, executemany
    elsewhere. Fields a row leaves out take the field's default; values are prepared as Django
    would save them (JSON, dates)."""
    if not rows:
        return
    fields = [field for field in model._meta.concrete_fields if not field.generated]
    table = model._meta.db_table
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)

    def values(row):
        return [
            field.get_db_prep_save(row.get(field.attname, field.get_default()), connection)
            for field in fields
        ]

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
        else:
            marks = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            for start in range(0, len(rows), 20_000):
                cursor.executemany(sql, [values(row) for row in rows[start : start + 20_000]])


def reset_sequences(*models) -> None:
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def fill_people(users: int, now) -> tuple[list[int], int]:
    """`users` contributors in TEAMS teams of uneven size, and one staff member."""
    User = get_user_model()
    rng = random.Random(1)
    insert(Team, [{"id": n, "name": f"Team {n:02d}"} for n in range(1, TEAMS + 1)])
    people = [
        {
            "id": n,
            "username": f"person{n}",
            "email": f"person{n}@example.com",
            "password": "!",
            "is_active": True,
            "date_joined": now,
        }
        for n in range(1, users + 1)
    ]
    staff = users + 1
    people.append({**people[0], "id": staff, "username": "organiser", "is_staff": True})
    people[-1]["email"] = "organiser@example.com"
    insert(User, people)
    sizes = [1 / (n + 3) for n in range(TEAMS)]
    profiles = [
        {
            "id": n,
            "user_id": n,
            "display_name": f"Person {n}",
            "team_id": rng.choices(range(1, TEAMS + 1), weights=sizes)[0] if n % 40 else None,
            "show_on_leaderboard": True,
            "email_notifications": "digest",
        }
        for n in range(1, users + 1)
    ]
    insert(Profile, profiles)
    reset_sequences(Team, User, Profile)
    return list(range(1, users + 1)), staff


def fill_entries(people: list[int], entries: int, now) -> dict:
    """A week of a drive: 150,000 entries by a long tail of writers, each reviewed two or three
    times (fewer while under review); one decision per decided entry; flags; gold answers."""
    rng = random.Random(7)
    categories = list(Category.objects.values_list("pk", flat=True))
    Category.objects.update(target_count=16_000)
    week = datetime.timedelta(days=7).total_seconds()
    weights = [1 / (rank + 20) for rank in range(len(people))]
    authors = rng.choices(people, weights=weights, k=entries)
    rows = {"entries": [], "reviews": [], "decisions": [], "flags": []}
    review_id = 0
    for n in range(1, entries + 1):
        author = authors[n - 1]
        submitted = now - datetime.timedelta(seconds=week * rng.random() ** 0.8)
        roll = rng.random()
        status = (
            "draft"
            if roll < 0.04
            else "accepted"
            if roll < 0.70
            else "rejected"
            if roll < 0.82
            else "submitted"
        )
        decided = submitted + datetime.timedelta(hours=rng.expovariate(1 / 9))
        if status in ("accepted", "rejected") and decided > now:
            status = "submitted"
        entry = {
            "id": n,
            "author_id": author,
            "category_id": categories[n % len(categories)],
            "status": status,
            "instruction": f"Question {n}?",
            "response": "An answer.",
            "created_at": submitted,
            "updated_at": decided if status in ("accepted", "rejected") else submitted,
            "submitted_at": None if status == "draft" else submitted,
            "decided_at": decided if status in ("accepted", "rejected") else None,
            "review_round": 1,
            "revision_count": 1,
        }
        count = {"draft": 0, "submitted": rng.choice([0, 0, 1]), "accepted": 2}.get(status, 2)
        count += status in ("accepted", "rejected") and rng.random() < 0.3
        reviewers = rng.sample(people, count + 1)
        reviewers = [r for r in reviewers if r != author][:count]
        approvals = 0
        for k, reviewer in enumerate(reviewers):
            approve = (
                rng.random() < 0.85
                if status == "accepted"
                else rng.random() < 0.2
                if status == "rejected"
                else rng.random() < 0.6
            )
            approvals += approve
            review_id += 1
            rows["reviews"].append(
                {
                    "id": review_id,
                    "entry_id": n,
                    "reviewer_id": reviewer,
                    "round": 1,
                    "verdict": "approve" if approve else "reject",
                    "rating": 4 if approve else 2,
                    "reasons": [] if approve else rng.sample(REASONS, rng.choice([1, 1, 2])),
                    "counts": True,
                    "created_at": submitted + (decided - submitted) * (k + 1) / (count + 1),
                }
            )
        entry["review_count"] = len(reviewers)
        rows["entries"].append(entry)
        if status in ("accepted", "rejected"):
            rows["decisions"].append(
                {
                    "id": len(rows["decisions"]) + 1,
                    "entry_id": n,
                    "round": 1,
                    "outcome": status,
                    "approvals": approvals,
                    "rejections": len(reviewers) - approvals,
                    "created_at": decided,
                }
            )
        if n % 30 == 0 and status != "draft":
            resolved = rng.random() < 0.6
            rows["flags"].append(
                {
                    "id": len(rows["flags"]) + 1,
                    "entry_id": n,
                    "kind": FLAG_KINDS[n % len(FLAG_KINDS)],
                    "evidence": "bench",
                    "evidence_key": f"bench:{n}",
                    "blocking": n % 60 == 0,
                    "status": "dismissed" if resolved else "open",
                    "created_at": submitted,
                    "resolved_at": decided if resolved and decided < now else None,
                }
            )
    plant_ring(rows, people, now, categories)
    insert(Entry, rows["entries"])
    insert(Review, rows["reviews"])
    insert(Decision, rows["decisions"])
    insert(Flag, rows["flags"])
    fill_gold(rows["entries"], people, now)
    reset_sequences(Entry, Review, Decision, Flag, GoldEntry, GoldReview)
    return {name: len(value) for name, value in rows.items()}


def plant_ring(rows: dict, people: list[int], now, categories: list[int]) -> None:
    """Three people who approve every one of each other's entries, 12 of each."""
    ring = people[-3:]
    entry_id = len(rows["entries"])
    review_id = len(rows["reviews"])
    for author in ring:
        for k in range(12):
            entry_id += 1
            moment = now - datetime.timedelta(hours=k + 1)
            rows["entries"].append(
                {
                    "id": entry_id,
                    "author_id": author,
                    "category_id": categories[k % len(categories)],
                    "status": "accepted",
                    "instruction": f"Ring question {entry_id}?",
                    "response": "An answer.",
                    "created_at": moment,
                    "updated_at": moment,
                    "submitted_at": moment,
                    "decided_at": moment,
                    "review_round": 1,
                    "review_count": 2,
                    "revision_count": 1,
                }
            )
            for reviewer in ring:
                if reviewer == author:
                    continue
                review_id += 1
                rows["reviews"].append(
                    {
                        "id": review_id,
                        "entry_id": entry_id,
                        "reviewer_id": reviewer,
                        "round": 1,
                        "verdict": "approve",
                        "rating": 5,
                        "reasons": [],
                        "counts": True,
                        "created_at": moment,
                    }
                )


def fill_gold(entries: list[dict], people: list[int], now) -> None:
    """300 gold entries, each answered by 40 reviewers (12,000 answers, 85% caught)."""
    rng = random.Random(11)
    accepted = [entry["id"] for entry in entries if entry["status"] == "accepted"][:300]
    insert(
        GoldEntry,
        [
            {
                "id": n,
                "entry_id": entry_id,
                "expected": "approve",
                "revision": 1,
                "marked_by_id": people[0],
                "marked_at": now,
                "is_active": True,
            }
            for n, entry_id in enumerate(accepted, start=1)
        ],
    )
    answers = []
    for gold in range(1, len(accepted) + 1):
        for reviewer in rng.sample(people, 40):
            caught = rng.random() < 0.85
            answers.append(
                {
                    "id": len(answers) + 1,
                    "gold_id": gold,
                    "reviewer_id": reviewer,
                    "handed_at": now,
                    "answered_at": now,
                    "verdict": "approve" if caught else "reject",
                    "rating": 4,
                    "caught": caught,
                }
            )
    insert(GoldReview, answers)


def timed(request, samples: int, before=None) -> list[float]:
    times = []
    for _ in range(samples):
        if before is not None:
            before()
        started = time.perf_counter()
        response = request()
        times.append((time.perf_counter() - started) * 1000)
        assert getattr(response, "status_code", 200) == 200, response.status_code
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--entries", type=int, default=150_000)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--refreshes", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print where a cold compute goes")
    args = parser.parse_args()

    settings.DEBUG = False  # no query log: as served
    # Keys of its own (the figures' cache key is read under this prefix): the bench's
    # figures_forget and figures_refresh must never touch a live instance's in a shared Redis.
    settings.FLOCK_REDIS_PREFIX = f"flock-bench-{uuid.uuid4().hex[:12]}:"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    with throwaway_database():
        print(f"database: {connection.vendor}  cache: {settings.CACHES['default']['BACKEND']}")
        started = time.perf_counter()
        now = timezone.now()
        people, staff = fill_people(args.users, now)
        Contest.objects.create(
            name="Bench week",
            starts_at=now - datetime.timedelta(days=5),
            ends_at=now + datetime.timedelta(days=2),
            grace_ends_at=now + datetime.timedelta(days=4),
        )
        counts = fill_entries(people, args.entries, now)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")  # as autovacuum leaves a live database
        print(
            f"fill: {args.users:,} people in {TEAMS} teams, {counts['entries']:,} entries, "
            f"{counts['reviews']:,} reviews, {counts['decisions']:,} decisions, "
            f"{counts['flags']:,} flags, 12,000 gold answers in "
            f"{time.perf_counter() - started:.1f} s"
        )
        client = Client()
        client.force_login(get_user_model().objects.get(pk=staff))
        rings = figures_compute(now=timezone.now()).frames["rings"]
        print(f"review rings found: {len(rings)} pairs in {rings['ring'].nunique()} ring(s)")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(figures_compute, now=timezone.now())
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

        page = lambda: client.get("/drive/")  # noqa: E731
        refresh = lambda: figures_refresh(now=timezone.now())  # noqa: E731
        print(f"refresh job (figures computed):   {percentiles(timed(refresh, args.refreshes))}")
        print(f"/drive/ as served (job has run):  {percentiles(timed(page, args.warm))}")
        for endpoint in ("progress", "participation", "flow"):
            url = f"/api/v1/drive/{endpoint}/"
            api = lambda url=url: client.get(url)  # noqa: E731
            csv = lambda url=url: client.get(f"{url}?format=csv")  # noqa: E731
            print(f"{url} as served: {percentiles(timed(api, args.warm))}")
            print(f"{url}?format=csv as served: {percentiles(timed(csv, args.warm // 2))}")
        print(
            "/drive/ cold (nothing cached, the request computes): "
            f"{percentiles(timed(page, args.cold, figures_forget))}"
        )


if __name__ == "__main__":
    main()
