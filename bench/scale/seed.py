"""What bench.scale adds to bench.export's seed: entries under review, and the points ledger
the seeded decisions earned, written by PostgreSQL itself (INSERT … SELECT), and the boards
rebuilt from it."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from annotation.models import Decision, Entry, EntryStatus, Review
from leaderboard.models import Contest, ScoreEvent, ScoreKind


def under_review(count: int) -> list[int]:
    """Put the newest `count` entries back under review (submitted, no review yet): the queue
    "Review next" hands out from. Call before bench.export.seed_reviews, which decides only
    accepted entries. Returns their ids."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Entry._meta.db_table} SET status = %s, decided_at = NULL, review_count = 0 "
            f"WHERE id IN (SELECT id FROM {Entry._meta.db_table} ORDER BY id DESC LIMIT %s) "
            "RETURNING id",
            [EntryStatus.SUBMITTED.value, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


def ledger() -> int:
    """The ledger rows the seeded decisions earned: each accepted entry's author the accepted
    points, each approving reviewer the review points, in the contest whose week the entry was
    submitted (or the review written) in, keyed as leaderboard.services.score_decision keys
    them. Returns the number of rows."""
    events, entries, reviews, contests = (
        model._meta.db_table for model in (ScoreEvent, Entry, Review, Contest)
    )
    columns = (
        "kind, object_key, user_id, points, entry_id, review_id, contest_id, reason, created_at"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {events} ({columns}) "
            f"SELECT %s, 'entry:' || e.id, e.author_id, %s, e.id, NULL, c.id, 'seeded', e.decided_at "
            f"FROM {entries} e LEFT JOIN {contests} c "
            "ON e.submitted_at >= c.starts_at AND e.submitted_at < c.ends_at "
            "WHERE e.status = %s",
            [ScoreKind.ENTRY_ACCEPTED.value, settings.FLOCK_POINTS_ACCEPTED, "accepted"],
        )
        accepted = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {events} ({columns}) "
            f"SELECT %s, 'review:' || r.id, r.reviewer_id, %s, r.entry_id, r.id, c.id, 'seeded', "
            f"e.decided_at FROM {reviews} r JOIN {entries} e ON e.id = r.entry_id "
            f"LEFT JOIN {contests} c ON r.created_at >= c.starts_at AND r.created_at < c.ends_at "
            "WHERE e.status = %s AND r.verdict = 'approve'",
            [ScoreKind.REVIEW_AGREED.value, settings.FLOCK_POINTS_REVIEW, "accepted"],
        )
        return accepted + cursor.rowcount


def vacuum_more() -> None:
    """bench.export.vacuum's tables are done; these are the ones bench.scale's reads use too."""
    with connection.cursor() as cursor:
        for model in (Review, Decision, ScoreEvent, Contest):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")


def contest_running() -> None:
    """A drive has a contest running, as scoring and the review counts expect to find: the
    seed's weeks end when it ran, so a run (or a later run on a kept database) adds one from
    the last week's end until a week from now when none holds this moment."""
    now = timezone.now()
    if Contest.objects.filter(starts_at__lte=now, ends_at__gt=now).exists():
        return
    last = Contest.objects.order_by("-ends_at").values_list("ends_at", flat=True).first()
    starts = min(last or now, now)
    Contest.objects.create(
        name="This week",
        starts_at=starts,
        ends_at=now + timedelta(days=7),
        grace_ends_at=now + timedelta(days=9),
    )
