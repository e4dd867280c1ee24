"""Reads of the quality app: which copy of a duplicate is kept, and what a text duplicates."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count

from annotation.models import Entry, EntryStatus
from quality import dedupe
from quality.models import Bucket, Fingerprint

# Entries the duplicate index answers for, and the checks look at.
INDEXED_STATUSES = (EntryStatus.SUBMITTED, EntryStatus.ACCEPTED)


def keep_order(status: str, submitted_at, pk: int) -> tuple:
    """Which of two duplicates is kept: an accepted entry before any other, then the earlier
    submission, then the lower id. Used for every 'earlier' and 'canonical' decision."""
    return (status != EntryStatus.ACCEPTED, submitted_at, pk)


def keep_orders(entry_ids) -> dict[int, tuple]:
    rows = Entry.objects.filter(pk__in=list(entry_ids)).values_list("pk", "status", "submitted_at")
    return {pk: keep_order(status, submitted_at, pk) for pk, status, submitted_at in rows}


@dataclass(frozen=True)
class Match:
    entry_id: int
    similarity: float
    exact: bool


def duplicates_similar(
    *, instruction: str, context: str, response: str, exclude: int | None = None, limit: int = 3
) -> list[Match]:
    """The indexed entries (under review or accepted) this text duplicates, most similar first.

    One exact-hash look-up, one look-up of its keys (21 band keys, and for a short task up to
    30 more), one read of the candidates' text and state, then their true similarity: fast
    enough to run while a writer types. Keys shared by more than dedupe.MAX_BUCKET entries
    (a template everyone follows) give no candidates, as in the corpus rescan.
    """
    query = dedupe.corpus_of([(0, instruction, context, response)])
    threshold = settings.FLOCK_DUPLICATE_THRESHOLD
    exact_ids = set(
        Fingerprint.objects.filter(exact_hash=query.exact[0]).values_list("entry_id", flat=True)
    )
    keys = sorted({int(key) for key in query.keys[0]})
    # Two look-ups on the key's index; as one query with a subquery PostgreSQL scanned the table.
    small = list(
        Bucket.objects.filter(key__in=keys)
        .values("key")
        .annotate(holders=Count("*"))
        .filter(holders__lte=dedupe.MAX_BUCKET)
        .values_list("key", flat=True)
    )
    bucket_ids = set(Bucket.objects.filter(key__in=small).values_list("fingerprint_id", flat=True))
    rows = list(
        Entry.objects.filter(pk__in=exact_ids | bucket_ids, status__in=INDEXED_STATUSES)
        .exclude(pk=exclude)
        .values_list("pk", "instruction", "context", "response")
    )
    matches = [Match(row[0], 1.0, exact=True) for row in rows if row[0] in exact_ids]
    candidates = [row for row in rows if row[0] not in exact_ids]
    if candidates:
        corpus = dedupe.corpus_of(candidates)
        for row in range(len(corpus.ids)):
            similar = dedupe.similarity_between(query, 0, corpus, row, threshold)
            if similar is not None:
                matches.append(Match(int(corpus.ids[row]), similar, exact=False))
    matches.sort(key=lambda m: (-m.similarity, m.entry_id))
    return matches[:limit]
