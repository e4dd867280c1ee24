"""Reads of the quality app: which copy of a duplicate is kept, and what a text duplicates."""

from dataclasses import dataclass
from itertools import batched

from django.conf import settings
from django.db import connection

from annotation.models import Entry, EntryStatus
from annotation.selectors import entries_visible_to
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


def sql_among(column: str, values) -> list[tuple[str, list]]:
    """SQL conditions "`column` is one of `values`" with their parameters: one array parameter on
    PostgreSQL (a 30,000-value IN list costs more to send and parse than to answer), IN lists of
    a few thousand elsewhere (SQLite's limit on parameters)."""
    values = list(values)
    if not values:
        return []
    if connection.vendor == "postgresql":
        return [(f"{column} = ANY(%s)", [values])]
    return [
        (f"{column} IN ({', '.join(['%s'] * len(chunk))})", list(chunk))
        for chunk in batched(values, 5_000)
    ]


def bucket_holders(*, keys) -> dict[int, list[int]]:
    """The entries holding each of these keys, for the keys no more than dedupe.MAX_BUCKET
    entries share (a key a whole template family shares gives no candidates). On PostgreSQL one
    index look-up per key, each stopped after MAX_BUCKET + 1 rows, so a bucket of thousands is
    never read whole; the writing page, the per-entry check and the changed-since rescan all
    find their candidates here."""
    keys = sorted(keys)
    if not keys:
        return {}
    table = Bucket._meta.db_table
    limit = dedupe.MAX_BUCKET
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT k.key, b.fingerprint_id FROM unnest(%s::bigint[]) AS k(key) "
                f"CROSS JOIN LATERAL (SELECT fingerprint_id FROM {table} "
                f"WHERE {table}.key = k.key LIMIT %s) b",
                [keys, limit + 1],
            )
            rows = cursor.fetchall()
        else:
            rows = []
            for where, params in sql_among("key", keys):
                cursor.execute(f"SELECT key, fingerprint_id FROM {table} WHERE {where}", params)
                rows += cursor.fetchall()
    holders: dict[int, list[int]] = {}
    for key, entry_id in rows:
        holders.setdefault(key, []).append(entry_id)
    return {key: members for key, members in holders.items() if len(members) <= limit}


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
    holders = bucket_holders(keys={int(key) for key in query.keys[0]})
    bucket_ids = {entry_id for members in holders.values() for entry_id in members}
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


@dataclass(frozen=True)
class SimilarShown:
    """A match as the writer is told of it: its number only if they may read that entry."""

    entry_id: int | None
    similarity: float
    exact: bool


def duplicates_similar_for(
    *, viewer, instruction: str, context: str, response: str, exclude: int | None = None
) -> list[SimilarShown]:
    """What the writing page may say about the text being written: how similar it is to entries
    under review or accepted, never their text, and their numbers only for the entries `viewer`
    may read (annotation.selectors.entries_visible_to: their own, ones they reviewed, all for
    moderators). A colleague's entry stays "an entry", so typing cannot be used to find out
    which entries exist or to open one."""
    matches = duplicates_similar(
        instruction=instruction, context=context, response=response, exclude=exclude
    )
    readable = set(
        entries_visible_to(viewer=viewer)
        .filter(pk__in=[match.entry_id for match in matches])
        .values_list("pk", flat=True)
    )
    return [
        SimilarShown(
            match.entry_id if match.entry_id in readable else None, match.similarity, match.exact
        )
        for match in matches
    ]
