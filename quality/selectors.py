"""Reads of the quality app: which copy of a duplicate is kept, what a text duplicates, and which
reference (evaluation) questions an instruction matches."""

import functools
import operator
from dataclasses import dataclass
from itertools import batched

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from annotation.models import Entry, EntryStatus
from annotation.selectors import entries_visible_to, erased
from config.caching import remember, remembered
from quality import dedupe
from quality.models import Bucket, Fingerprint, ReferenceBucket, ReferenceCorpus, ReferenceItem

# Entries the duplicate index answers for, and the checks look at.
INDEXED_STATUSES = (EntryStatus.SUBMITTED, EntryStatus.ACCEPTED)


def indexed_entries():
    """The entries the duplicate index holds: under review or accepted, except those erased
    with their author's data (annotation/services/erasure.py), whose emptied text is nobody's
    copy and nobody's original."""
    return Entry.objects.filter(status__in=INDEXED_STATUSES).exclude(erased())


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


def among(column: str, values) -> Q:
    """A filter "`column` is one of `values`" (ints) by sql_among's rule: what `column__in` asks,
    without the ORM preparing each value and its placeholder (10,000 ids at a time, for the
    rescans). On SQLite the IN lists are ORed in one statement, which takes up to 32,766
    parameters. `column` must be unambiguous in the query it filters (no join repeats it)."""
    values = [int(value) for value in values]
    parts = [
        Q(RawSQL(where, params, output_field=BooleanField()))
        for where, params in sql_among(column, values)
    ]
    return functools.reduce(operator.or_, parts) if parts else Q(pk__in=[])


def bucket_holders(*, keys) -> dict[int, list[int]]:
    """The entries holding each of these keys, for the keys no more than dedupe.MAX_BUCKET
    entries share (a key a whole template family shares gives no candidates). On PostgreSQL one
    index look-up per key, each stopped after MAX_BUCKET + 1 rows, so a bucket of thousands is
    never read whole; the writing page, the per-entry check and the changed-since rescan all
    find their candidates here."""
    return _key_holders(Bucket._meta.db_table, "fingerprint_id", keys)


def reference_holders(*, keys) -> dict[int, list[int]]:
    """The reference questions (ReferenceItem ids) holding each of these keys, by the rule of
    bucket_holders: a key more than dedupe.MAX_BUCKET questions share gives no candidates."""
    return _key_holders(ReferenceBucket._meta.db_table, "item_id", keys)


def _key_holders(table: str, owner: str, keys) -> dict[int, list[int]]:
    keys = sorted(keys)
    if not keys:
        return {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql, params = _holders_sql(table, owner, keys)
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        else:
            rows = []
            for where, params in sql_among("key", keys):
                cursor.execute(f"SELECT key, {owner} FROM {table} WHERE {where}", params)
                rows += cursor.fetchall()
    return _holders_within_limit(rows)


def _holders_sql(table: str, owner: str, keys: list[int]) -> tuple[str, list]:
    """PostgreSQL: (key, owner) for each key, one index look-up a key stopped after
    dedupe.MAX_BUCKET + 1 rows."""
    return (
        f"SELECT k.key, b.{owner} FROM unnest(%s::bigint[]) AS k(key) "
        f"CROSS JOIN LATERAL (SELECT {owner} FROM {table} "
        f"WHERE {table}.key = k.key LIMIT %s) b",
        [keys, dedupe.MAX_BUCKET + 1],
    )


def _holders_within_limit(rows) -> dict[int, list[int]]:
    holders: dict[int, list[int]] = {}
    for key, owner_id in rows:
        holders.setdefault(key, []).append(owner_id)
    return {key: members for key, members in holders.items() if len(members) <= dedupe.MAX_BUCKET}


def _similar_candidates(exact_hash: str, keys) -> tuple[set[int], dict[int, list[int]]]:
    """The indexed entries with this exact hash, and bucket_holders(keys): one round trip on
    PostgreSQL (the writing page asks at every autosave), two elsewhere."""
    if connection.vendor != "postgresql":
        exact = Fingerprint.objects.filter(exact_hash=exact_hash).values_list("entry_id", flat=True)
        return set(exact), bucket_holders(keys=keys)
    fingerprints = Fingerprint._meta.db_table
    holders_sql, holders_params = _holders_sql(
        Bucket._meta.db_table, "fingerprint_id", sorted(keys)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT NULL::bigint, entry_id FROM {fingerprints} WHERE exact_hash = %s "
            f"UNION ALL {holders_sql}",
            [exact_hash, *holders_params],
        )
        rows = cursor.fetchall()
    exact = {entry_id for key, entry_id in rows if key is None}
    return exact, _holders_within_limit([row for row in rows if row[0] is not None])


def duplicates_similar(
    *, instruction: str, context: str, response: str, exclude: int | None = None, limit: int = 3
) -> list[Match]:
    """The indexed entries (under review or accepted) this text duplicates, most similar first.

    One look-up of its exact hash and its keys (21 band keys, and for a short task up to 30
    more), one read of the candidates' text and state, then their true similarity: fast
    enough to run while a writer types. Keys shared by more than dedupe.MAX_BUCKET entries
    (a template everyone follows) give no candidates, as in the corpus rescan.
    """
    query = dedupe.corpus_of([(0, instruction, context, response)])
    threshold = settings.FLOCK_DUPLICATE_THRESHOLD
    exact_ids, holders = _similar_candidates(query.exact[0], {int(key) for key in query.keys[0]})
    bucket_ids = {entry_id for members in holders.values() for entry_id in members}
    if not (exact_ids | bucket_ids) - {exclude}:
        return []  # text like nothing indexed: no read of candidates
    rows = list(
        indexed_entries()
        .filter(pk__in=exact_ids | bucket_ids)
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
    if not matches:  # the usual answer while typing: no question of who may read what
        return []
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


# --- Reference corpora (contamination) -------------------------------------------------------


@dataclass(frozen=True)
class ReferenceMatch:
    """A reference question an instruction matches: the best of its corpus."""

    corpus_id: int
    corpus_name: str
    number: int  # the question's place in its corpus, in import order
    similarity: float
    exact: bool
    # The first 16 hex digits of the exact hash of the instruction that matched (dedupe's, of
    # the normalised text): what a reference flag's evidence_key is about.
    judged: str


@dataclass(frozen=True)
class ReferenceIndex:
    """The whole reference index in memory, for checking many instructions at once (a rescan):
    read once, then each chunk of entries is matched with numpy, sending nothing back to the
    database. Its keys are sorted, those more than dedupe.MAX_BUCKET questions share left out."""

    keys: np.ndarray  # int64, sorted
    items: np.ndarray  # the ReferenceItem id of each key
    hashes: dict[str, list[int]]  # exact hash -> ReferenceItem ids


def reference_index() -> ReferenceIndex:
    """Read the reference index (a few bytes a key: 400,000 keys for 10,000 questions)."""
    keys, items = [], []
    hashes: dict[str, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, item_id FROM {ReferenceBucket._meta.db_table}")
        while rows := cursor.fetchmany(100_000):
            pairs = np.array(rows, dtype=np.int64)
            keys.append(pairs[:, 0])
            items.append(pairs[:, 1])
        cursor.execute(f"SELECT exact_hash, id FROM {ReferenceItem._meta.db_table}")
        for digest, item_id in cursor.fetchall():
            hashes.setdefault(digest, []).append(item_id)
    keys = np.concatenate(keys) if keys else np.empty(0, dtype=np.int64)
    items = np.concatenate(items) if items else np.empty(0, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    keys, items = keys[order], items[order]
    _, count = np.unique(keys, return_counts=True)
    shared = np.repeat(count > dedupe.MAX_BUCKET, count)
    return ReferenceIndex(keys=keys[~shared], items=items[~shared], hashes=hashes)


def _reference_candidates(corpus: dedupe.Corpus) -> dict[int, set[int]]:
    """Corpus row -> the reference questions sharing its exact hash or one of its keys, read
    from the database (a few queries, for a few instructions)."""
    items = ReferenceItem._meta.db_table
    by_hash: dict[str, list[int]] = {}
    with connection.cursor() as cursor:
        for where, params in sql_among("exact_hash", set(corpus.exact)):
            cursor.execute(f"SELECT exact_hash, id FROM {items} WHERE {where}", params)
            for digest, item_id in cursor.fetchall():
                by_hash.setdefault(digest, []).append(item_id)
    holders = reference_holders(keys=np.unique(corpus.keys).tolist())
    candidates: dict[int, set[int]] = {}
    for row, digest in enumerate(corpus.exact):
        if digest in by_hash:
            candidates.setdefault(row, set()).update(by_hash[digest])
    if holders:
        held = np.fromiter(holders, dtype=np.int64, count=len(holders))
        hit = np.isin(corpus.keys, held)
        for row in np.flatnonzero(hit.any(axis=1)).tolist():
            found = candidates.setdefault(row, set())
            for key in set(corpus.keys[row][hit[row]].tolist()):
                found.update(holders[key])
    return candidates


def _reference_candidates_in(corpus: dedupe.Corpus, index: ReferenceIndex) -> dict[int, set[int]]:
    """_reference_candidates, from the index in memory."""
    candidates: dict[int, set[int]] = {}
    for row, digest in enumerate(corpus.exact):
        if digest in index.hashes:
            candidates.setdefault(row, set()).update(index.hashes[digest])
    if len(index.keys):
        first = np.searchsorted(index.keys, corpus.keys, side="left")
        hit = index.keys[np.minimum(first, len(index.keys) - 1)] == corpus.keys
        last = np.searchsorted(index.keys, corpus.keys, side="right")
        for row in np.flatnonzero(hit.any(axis=1)).tolist():
            found = candidates.setdefault(row, set())
            for column in np.flatnonzero(hit[row]).tolist():
                found.update(index.items[first[row, column] : last[row, column]].tolist())
    return candidates


# Whether any reference question is indexed, as the writing page's check asks at every
# autosave: kept in Django's cache (Redis when REDIS_URL is set) for
# FLOCK_REFERENCES_EXIST_SECONDS, and forgotten when a corpus is imported or deleted
# (services/references.py). The checks that raise flags always ask the database.
REFERENCES_EXIST_KEY = "quality:references-exist"


def references_exist(*, cached: bool = False) -> bool:
    """Whether any reference question is indexed. `cached`: the answer may be one this site read
    at most FLOCK_REFERENCES_EXIST_SECONDS ago (the writing page's warning; never a check that
    flags). An import or a deletion puts "maybe" in its place as it commits
    (references_exist_forget), which a request that read "none" just before cannot overwrite.
    With the cache unreachable, the database answers."""
    seconds = settings.FLOCK_REFERENCES_EXIST_SECONDS if cached else 0
    return remembered(REFERENCES_EXIST_KEY, seconds, ReferenceItem.objects.exists)


def references_exist_forget() -> None:
    """After an import or a deletion: the writing page's check looks for candidates (a query
    that finds none when no corpus is left) until the answer is read again."""
    remember(REFERENCES_EXIST_KEY, True, settings.FLOCK_REFERENCES_EXIST_SECONDS)


def references_matching(
    *,
    instructions: list[tuple[int, str]] | None = None,
    corpus: dedupe.Corpus | None = None,
    index: ReferenceIndex | None = None,
    while_typing: bool = False,
) -> dict[int, list[ReferenceMatch]]:
    """For each (id, instruction), the reference corpora whose questions it matches, exactly
    or nearly, with the best question of each (most similar, then the lowest number); ids that
    match nothing are left out. `corpus`: the instructions already reduced by dedupe.corpus_of
    over (id, instruction, "", "") rows (a rescan builds it on every core); `index`: the
    reference index read once (reference_index) for a rescan's many chunks; `while_typing`: the
    writing page's warning, which may take whether any corpus exists from the cache
    (references_exist).

    The instruction alone is compared (a benchmark question is a question: whatever answer a
    writer gives it, training on it contaminates the evaluation), by the duplicate rules:
    candidates share its exact hash or one of its keys (band keys, and a short question's
    delete-one keys; a key more than dedupe.MAX_BUCKET questions share gives none) and are
    confirmed by dedupe.similarity_between at FLOCK_REFERENCE_THRESHOLD. A few set-based
    queries however many instructions (the writing page asks for one); with no reference
    corpus it costs one query (while typing, usually none).
    """
    if corpus is None and not instructions:
        return {}
    if index is None and not references_exist(cached=while_typing):
        return {}  # before reducing the instructions: while typing, the usual answer
    if corpus is None:
        corpus = dedupe.corpus_of([(key, text, "", "") for key, text in instructions])
    if len(corpus.ids) == 0:
        return {}
    if index is not None:
        candidates = _reference_candidates_in(corpus, index)
    else:
        candidates = _reference_candidates(corpus)
    if not candidates:
        return {}
    wanted = {item_id for found in candidates.values() for item_id in found}
    items = ReferenceItem._meta.db_table
    rows = []
    with connection.cursor() as cursor:
        for where, params in sql_among("id", wanted):
            cursor.execute(
                f"SELECT id, corpus_id, number, exact_hash, instruction FROM {items} WHERE {where}",
                params,
            )
            rows += cursor.fetchall()
    known = {item_id: (corpus_id, number, digest) for item_id, corpus_id, number, digest, _ in rows}
    questions = dedupe.corpus_of([(item_id, text, "", "") for item_id, *_, text in rows])
    row_of = {int(item_id): j for j, item_id in enumerate(questions.ids)}
    threshold = settings.FLOCK_REFERENCE_THRESHOLD
    best: dict[int, dict[int, tuple[float, bool, int]]] = {}  # row -> corpus -> the best match
    for row, found in candidates.items():
        for item_id in found:
            if item_id not in known:  # deleted meanwhile
                continue
            corpus_id, number, digest = known[item_id]
            if digest == corpus.exact[row]:
                similar, exact = 1.0, True
            else:
                similar = dedupe.similarity_between(
                    corpus, row, questions, row_of[item_id], threshold
                )
                exact = False
                if similar is None:
                    continue
            mine = best.setdefault(row, {})
            if corpus_id not in mine or (similar, exact, -number) > (
                mine[corpus_id][0],
                mine[corpus_id][1],
                -mine[corpus_id][2],
            ):
                mine[corpus_id] = (similar, exact, number)
    names = dict(
        ReferenceCorpus.objects.filter(
            pk__in={corpus_id for mine in best.values() for corpus_id in mine}
        ).values_list("pk", "name")
    )
    out: dict[int, list[ReferenceMatch]] = {}
    for row, mine in best.items():
        matches = [
            ReferenceMatch(
                corpus_id, names[corpus_id], number, similar, exact, corpus.exact[row][:16]
            )
            for corpus_id, (similar, exact, number) in mine.items()
            if corpus_id in names
        ]
        if matches:
            out[int(corpus.ids[row])] = sorted(matches, key=lambda m: (m.corpus_name, m.corpus_id))
    return out
