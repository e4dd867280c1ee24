"""Duplicates: the index, the clusters, which copy is kept, and the one writer of their flags.

A cluster is a group of entries linked by duplicate pairs (a chain 1 ~ 2 ~ 3 is one cluster even
when 1 and 3 are less alike). Of each cluster one entry is kept (selectors.keep_order); every
other member is flagged against the kept one, and its other open duplicate flags are closed.
The per-entry check, the changed-since-last-time rescan and the full rescan only differ in how
they find the pairs (the stored index around some entries, or the whole corpus block by block);
all three hand the clusters to `_clusters_write`, so they cannot disagree about who is whose copy.
"""

import hashlib
import json
from dataclasses import dataclass
from itertools import batched

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotation import services as annotation
from annotation.models import Entry, Flag, FlagKind, FlagStatus
from quality import dedupe, selectors
from quality.checks import Finding
from quality.models import Bucket, Fingerprint
from quality.selectors import INDEXED_STATUSES, indexed_entries
from quality.services.findings import finding_apply
from quality.services.marks import scan_mark, scan_mark_save

DUPLICATE_KINDS = (FlagKind.EXACT_DUPLICATE, FlagKind.NEAR_DUPLICATE)
# A cluster found through the index stops growing here (boilerplate everyone shares).
MAX_CLUSTER = 2_000
INDEX_BATCH = 2_000
TEXT_COLUMNS = ("pk", "instruction", "context", "response")
# A full rescan reads the corpus this many entries at a time, and of each block keeps only the
# ids, exact hashes and keys: at a million entries, the whole corpus's texts, shingles and
# signatures held at once took 5 GB in the job's process and 3.4 GB in a forked worker.
RESCAN_BLOCK = 50_000
# Ids asked for in one query (SQLite takes some 32,000 parameters; PostgreSQL gets one array,
# config/lookups.py).
READ_CHUNK = 20_000
# The candidate pairs' keys are sorted a share at a time (dedupe.candidate_pairs_forked), this
# many shares for each forked sort: however many sort at once, their copies together are those
# of one sort of a quarter of the keys (four shares for two sorts took the job and its workers
# to 1.8 GB of PSS at a million entries, against 1.5 GB).
KEY_PARTS_PER_WORKER = 4


# --- The index -------------------------------------------------------------------------------


def _index(corpus: dedupe.Fingerprints, rows: list[int]) -> None:
    """Write the index rows of these corpus rows, replacing what was there: each entry's
    fingerprint, and of its bucket rows only the keys it lost and gained (a revised entry keeps
    most of its band keys, and the bucket table, some 27 rows an entry, is the largest of the
    index: at a million entries, rewriting every key of 10,000 revised entries took 20 s of
    PostgreSQL index writes). Plain SQL: a rescan rewrites thousands of rows at once and the
    ORM's objects cost more than the writes."""
    ids = [int(corpus.ids[r]) for r in rows]
    fingerprints, buckets = Fingerprint._meta.db_table, Bucket._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    keys = {int(corpus.ids[r]): set(corpus.keys[r].tolist()) for r in rows}
    wanted = {(entry_id, key) for entry_id, held in keys.items() for key in held}
    with connection.cursor() as cursor:
        # The fingerprints go first: their row locks make another job indexing the same
        # entries wait (and its insert of them fail, so that it tries again, _index_write)
        # before either reads which keys are held; the deleted rows say which.
        stored = []
        for where, params in selectors.sql_among("entry_id", ids):
            cursor.execute(
                f"DELETE FROM {fingerprints} WHERE {where} RETURNING entry_id, keys, rules",
                params,
            )
            stored += cursor.fetchall()
        held = {
            (entry_id, key)
            for entry_id, keys_held in _held_keys(cursor, ids, stored).items()
            for key in keys_held
        }
        rows_delete(cursor, buckets, ("fingerprint_id", "key"), ("bigint", "bigint"), held - wanted)
        rows_insert(
            cursor,
            fingerprints,
            ("entry_id", "exact_hash", "signature", "rules", "keys", "updated_at"),
            ("bigint", "text", "bytea", "smallint", "bytea", "timestamptz"),
            [
                (
                    int(corpus.ids[r]),
                    corpus.exact[r],
                    corpus.signatures[r].tobytes(),
                    dedupe.RULES_VERSION,
                    dedupe.keys_packed(keys[int(corpus.ids[r])]),
                    now,
                )
                for r in rows
            ],
        )
        rows_insert(
            cursor,
            buckets,
            ("fingerprint_id", "key"),
            ("bigint", "bigint"),
            sorted(wanted - held),
            on_conflict="ON CONFLICT DO NOTHING",
        )


def _held_keys(cursor, ids: list[int], stored: list[tuple]) -> dict[int, set[int]]:
    """The keys these entries' bucket rows hold, from their fingerprint rows as read (`stored`:
    (entry_id, Fingerprint.keys, Fingerprint.rules)); from the bucket table itself for an entry
    that has no row, whose row has no keys (written before the column) or was written under
    other duplicate rules (a full rescan rewrites it: its buckets are what to go by)."""
    held = {
        entry_id: dedupe.keys_unpacked(keys)
        for entry_id, keys, rules in stored
        if keys is not None and rules == dedupe.RULES_VERSION
    }
    unknown = [entry_id for entry_id in ids if entry_id not in held]
    for where, params in selectors.sql_among("fingerprint_id", unknown):
        cursor.execute(
            f"SELECT fingerprint_id, key FROM {Bucket._meta.db_table} WHERE {where}", params
        )
        for entry_id, key in cursor.fetchall():
            held.setdefault(entry_id, set()).add(key)
    return held


def rows_delete(cursor, table, columns, pg_types, rows) -> None:
    """Delete the rows whose `columns` hold these values: on PostgreSQL one statement joined to
    arrays (unnest), elsewhere with executemany."""
    if not rows:
        return
    names = ", ".join(columns)
    if connection.vendor == "postgresql":
        unnest, params = _unnest(pg_types, rows)
        cursor.execute(f"DELETE FROM {table} WHERE ({names}) IN (SELECT * FROM {unnest})", params)
    else:
        match = " AND ".join(f"{name} = %s" for name in columns)
        cursor.executemany(f"DELETE FROM {table} WHERE {match}", list(rows))


def rows_insert(cursor, table, columns, pg_types, rows, on_conflict: str = "") -> None:
    """Insert many rows: on PostgreSQL as one statement over arrays (unnest), elsewhere with
    executemany (SQLite runs in-process, where that is cheap). The duplicate and reference
    indexes' bulk insert (quality/services/references.py uses it too)."""
    if not rows:
        return
    names = ", ".join(columns)
    if connection.vendor == "postgresql":
        unnest, params = _unnest(pg_types, rows)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT * FROM {unnest} {on_conflict}", params
        )
    else:
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) {on_conflict}", rows)


def _unnest(pg_types, rows) -> tuple[str, list]:
    """PostgreSQL's rows from arrays: `unnest(…)` over one array parameter a column, and the
    parameters (one statement for thousands of rows, without thousands of parameters)."""
    arrays = ", ".join(f"%s::{kind}[]" for kind in pg_types)
    return f"unnest({arrays})", [list(column) for column in zip(*rows, strict=True)]


def _index_write(corpus: dedupe.Fingerprints, rows: list[int]) -> None:
    for batch in batched(rows, INDEX_BATCH):
        for attempt in range(3):  # another job may be rewriting the same rows right now
            try:
                with transaction.atomic():
                    _index(corpus, list(batch))
                break
            except IntegrityError:
                if attempt == 2:
                    raise


def fingerprint_update(*, entry: Entry) -> None:
    """Put the entry's current text in the duplicate index (its hash, signature, band keys)."""
    corpus = dedupe.fingerprints_of([(entry.pk, entry.instruction, entry.context, entry.response)])
    _index_write(corpus, [0])


def fingerprints_add(*, entries: list[Entry]) -> None:
    """Index many entries at once (an import), in one pass over their text."""
    if entries:
        rows = [(e.pk, e.instruction, e.context, e.response) for e in entries]
        corpus = dedupe.fingerprints_of(rows)
        _index_write(corpus, list(range(len(corpus.ids))))


def fingerprints_drop(*, entry_ids) -> None:
    """Take entries out of the duplicate index (their hash, signature and band keys): an entry
    erased with its author's data is nobody's copy and nobody's original.

    The fingerprint rows go first (waiting for a job rewriting one of them, as _index's do),
    then the buckets of those that have none now: a job that indexed one of these entries again
    meanwhile keeps both its row and its buckets, so a row's keys never name buckets gone."""
    ids = [int(entry_id) for entry_id in entry_ids]
    fingerprints, buckets = Fingerprint._meta.db_table, Bucket._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        for where, params in selectors.sql_among("entry_id", ids):
            cursor.execute(f"DELETE FROM {fingerprints} WHERE {where}", params)
        for where, params in selectors.sql_among("fingerprint_id", ids):
            cursor.execute(
                f"DELETE FROM {buckets} WHERE {where} AND NOT EXISTS (SELECT 1 FROM "
                f"{fingerprints} WHERE {fingerprints}.entry_id = {buckets}.fingerprint_id)",
                params,
            )


# --- Pairs: through the index, or across the whole corpus ------------------------------------


@dataclass
class Pairs:
    """Duplicate pairs among some entries, and each one's exact hash."""

    similarity: dict[tuple[int, int], float]  # (a, b) with a < b
    exact: dict[int, str]

    def add(self, a: int, b: int, similarity: float) -> None:
        self.similarity[(min(a, b), max(a, b))] = similarity

    def partners(self) -> dict[int, dict[int, float]]:
        out: dict[int, dict[int, float]] = {}
        for (a, b), sim in self.similarity.items():
            out.setdefault(a, {})[b] = sim
            out.setdefault(b, {})[a] = sim
        return out


def _pairs_around(seeds: set[int]) -> tuple[Pairs, set[int]]:
    """The pairs of the clusters these entries are in, found through the stored index: their
    band keys and exact hashes give candidates, the candidates' text confirms them (the same
    test as the corpus rescan: dedupe.similarity_between), and each new member is looked at in
    turn until the clusters are closed. Returns the pairs and every entry looked at."""
    threshold = settings.FLOCK_DUPLICATE_THRESHOLD
    pairs = Pairs(similarity={}, exact={})
    siblings: list[tuple[int, int]] = []  # questions of one shape (dedupe.template_siblings)
    visited: set[int] = set()
    indexed = set(indexed_entries().filter(pk__in=list(seeds)).values_list("pk", flat=True))
    frontier = indexed
    while frontier and len(visited) < MAX_CLUSTER:
        visited |= frontier
        candidates = _candidates(frontier)
        wanted = set(frontier) | {c for found in candidates.values() for c in found}
        rows = list(indexed_entries().filter(pk__in=list(wanted)).values_list(*TEXT_COLUMNS))
        corpus = dedupe.corpus_of(rows)
        row_of = {int(entry_id): row for row, entry_id in enumerate(corpus.ids)}
        for entry_id, row in row_of.items():
            pairs.exact[entry_id] = corpus.exact[row]
        found: set[int] = set()
        for entry_id in frontier:
            if entry_id not in row_of:
                continue
            i = row_of[entry_id]
            for other in candidates.get(entry_id, ()):
                j = row_of.get(other)
                if j is None or other == entry_id:
                    continue
                if corpus.exact[i] == corpus.exact[j]:
                    pairs.add(entry_id, other, 1.0)
                else:
                    sim = dedupe.similarity_between(corpus, i, corpus, j, threshold)
                    if sim is None:
                        if dedupe.template_siblings(corpus, i, corpus, j):
                            siblings.append((entry_id, other))
                        continue
                    pairs.add(entry_id, other, sim)
                found.add(other)
        frontier = found - visited
    # As the corpus rescan does (dedupe.duplicate_pairs): an entry one word from two questions
    # of one shape is a copy of neither, or it would chain the family into one cluster.
    pairs.similarity = dedupe.unchain(pairs.similarity, siblings)
    return pairs, visited


def _candidates(entry_ids: set[int]) -> dict[int, set[int]]:
    """For each entry, the indexed entries sharing its exact hash or one of its band keys (keys
    shared by more than dedupe.MAX_BUCKET entries are boilerplate and give none, as in the
    corpus rescan)."""
    ids = list(entry_ids)
    fingerprints = Fingerprint._meta.db_table
    hashes: dict[int, str] = {}
    same_hash: dict[str, list[int]] = {}
    with connection.cursor() as cursor:
        stored = []
        for where, params in selectors.sql_among("entry_id", ids):
            cursor.execute(
                f"SELECT entry_id, exact_hash, keys, rules FROM {fingerprints} WHERE {where}",
                params,
            )
            for entry_id, digest, *keys in cursor.fetchall():
                hashes[entry_id] = digest
                stored.append((entry_id, *keys))
        keys_of = _held_keys(cursor, ids, stored)
        holders = selectors.bucket_holders(keys={k for keys in keys_of.values() for k in keys})
        for where, params in selectors.sql_among("exact_hash", set(hashes.values())):
            cursor.execute(f"SELECT entry_id, exact_hash FROM {fingerprints} WHERE {where}", params)
            for entry_id, digest in cursor.fetchall():
                same_hash.setdefault(digest, []).append(entry_id)
    out: dict[int, set[int]] = {}
    for entry_id in ids:
        found = set(same_hash.get(hashes.get(entry_id), ()))
        for key in keys_of.get(entry_id, ()):
            found.update(holders.get(key, ()))
        found.discard(entry_id)
        out[entry_id] = found
    return out


def _stale_rows(corpus: dedupe.Fingerprints) -> list[int]:
    """The corpus rows whose stored index row is missing, holds other text, or was written under
    other duplicate rules: only those are written again (most changes to an entry are its
    status, not its text). Plain SQL: a full rescan asks this of every entry."""
    known = {}
    with connection.cursor() as cursor:
        for where, params in selectors.sql_among("entry_id", corpus.ids.tolist()):
            cursor.execute(
                f"SELECT entry_id, exact_hash, rules FROM {Fingerprint._meta.db_table} "
                f"WHERE {where}",
                params,
            )
            known.update((entry_id, (digest, rules)) for entry_id, digest, rules in cursor)
    return [
        row
        for row, entry_id in enumerate(corpus.ids.tolist())
        if known.get(entry_id) != (corpus.exact[row], dedupe.RULES_VERSION)
    ]


def _pairs_everywhere(workers: int | None) -> tuple[Pairs, int]:
    """Every pair in the corpus under review or accepted, on every core, refreshing the index
    rows of entries whose text changed since they were indexed, or that were written under
    other duplicate rules (their band keys would not meet the new ones). Returns the pairs and
    how many entries were looked at.

    Two passes, so that memory does not grow with the corpus's text: the first reads it a
    block at a time (by id), indexes what is stale and keeps each entry's id, exact hash and
    keys; the candidate and exact pairs found across all of them name the rows the second pass
    reads again, to confirm them on their text (most entries are nobody's candidate). While
    forked processes reduce one block, this one reads the next and indexes the last."""
    kept = _Kept()
    dedupe.fork_pipeline(
        _blocks(),
        lambda block: dedupe.fingerprints_forked(block, workers=workers),
        lambda _block, corpus: kept.add(corpus),
    )
    if not kept.count:
        return Pairs(similarity={}, exact={}), 0
    ids, exact, candidates = kept.pairs(workers)
    corpus, (exact, candidates) = _corpus_of_pairs(ids, [exact, candidates], workers)
    pairs = Pairs(
        similarity={},
        exact={int(entry_id): corpus.exact[row] for row, entry_id in enumerate(corpus.ids)},
    )
    # An entry revised since the first pass is compared as it is now with the entries that pass
    # paired it with; its new text's other copies are found by the next rescan (it looks at
    # what changed since this one started).
    exact = exact[np.array([corpus.exact[i] == corpus.exact[j] for i, j in exact.tolist()], bool)]
    for a, b, sim in dedupe.pairs_confirmed(
        corpus, exact.reshape(-1, 2), candidates, settings.FLOCK_DUPLICATE_THRESHOLD
    ):
        pairs.add(a, b, sim)
    return pairs, kept.count


def _blocks():
    """The indexed entries' texts, RESCAN_BLOCK entries at a time, by id."""
    last = 0
    entries = indexed_entries().order_by("pk").values_list(*TEXT_COLUMNS)
    while block := list(entries.filter(pk__gt=last)[:RESCAN_BLOCK]):
        last = block[-1][0]
        yield block


class _Kept:
    """What a full rescan keeps of each block's fingerprints, after writing its stale index rows:
    the ids, exact hashes and flattened keys (the signatures are dropped)."""

    def __init__(self):
        self.ids, self.digests, self.keys, self.rows = [], [], [], []
        self.count = 0

    def add(self, corpus: dedupe.Fingerprints) -> None:
        _index_write(corpus, _stale_rows(corpus))
        keys, rows = dedupe.key_rows(corpus.keys, first=self.count)
        self.ids.append(corpus.ids)
        self.digests.append(np.array(corpus.exact, dtype="S64"))
        self.keys.append(keys)
        self.rows.append(rows)
        self.count += len(corpus.ids)

    def pairs(self, workers: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, exact pairs, candidate pairs), the pairs as rows of ids; what was kept goes.
        The exact pairs are found here while forked processes sort the keys."""
        ids, self.ids = np.concatenate(self.ids), []
        keys, rows = np.concatenate(self.keys), np.concatenate(self.rows)
        self.keys = self.rows = []
        workers = dedupe.worker_count(workers)
        finding = dedupe.candidate_pairs_forked(
            keys, rows, self.count, parts=KEY_PARTS_PER_WORKER * workers, workers=workers
        )
        del keys, rows  # the forked processes have their own
        try:
            digests, self.digests = self.digests, []
            exact = dedupe.exact_rows(np.concatenate(digests))
        except BaseException:
            finding.abandon()
            raise
        return ids, exact, finding.result()


def _corpus_of_pairs(
    ids: np.ndarray, pairs: list[np.ndarray], workers: int | None
) -> tuple[dedupe.Corpus, list[np.ndarray]]:
    """The corpus of the entries these pairs of rows (of `ids`, ascending) name, read again, and
    the pairs as rows of it. An entry no longer indexed by now drops out with its pairs."""
    named = np.unique(np.concatenate([found.ravel() for found in pairs]))
    texts = []
    for chunk in batched(ids[named].tolist(), READ_CHUNK):
        texts += indexed_entries().filter(pk__in=chunk).order_by("pk").values_list(*TEXT_COLUMNS)
    corpus = dedupe.corpus_parallel(texts, workers=workers)
    row_of = np.full(len(ids), -1, dtype=np.int64)
    row_of[np.searchsorted(ids, corpus.ids)] = np.arange(len(corpus.ids))
    mapped = []
    for found in pairs:
        rows = row_of[found].reshape(-1, 2)
        mapped.append(rows[(rows >= 0).all(axis=1)])
    return corpus, mapped


# --- The one writer of duplicate flags -------------------------------------------------------


def _duplicate_finding(
    kept: int, similarity: float, exact: bool, via: int | None = None
) -> Finding:
    percent = round(similarity * 100)
    evidence = f"Looks like entry #{via or kept} ({percent}% similar)."
    if via is not None:
        evidence += f" That one repeats #{kept}, which is kept."
    return Finding(
        kind=FlagKind.EXACT_DUPLICATE if exact else FlagKind.NEAR_DUPLICATE,
        evidence=evidence,
        evidence_key=f"entry:{kept}",
        duplicate_of=kept,
        similarity=round(similarity, 4),
    )


def _clusters_write(*, pairs: Pairs, examined: set[int] | None) -> tuple[int, int]:
    """Flag every member of every cluster against the copy kept, and close the open duplicate
    flags that no cluster supports now: those of `examined` entries (None: of every entry
    under review or accepted). Returns (clusters, flags raised or reopened).

    A member joined through another member (a chain) names that one as well. A flag a person
    confirmed or dismissed stays as they left it; one a check closed reopens when found again.
    """
    groups = dedupe.clusters([(a, b, sim) for (a, b), sim in pairs.similarity.items()])
    partners = pairs.partners()
    clustered = set().union(*groups) if groups else set()
    order = selectors.keep_orders(clustered)
    current: set[tuple[int, str, int]] = set()  # (member, kind, kept)
    known = {
        (flag.entry_id, flag.kind, flag.evidence_key): flag
        for flag in Flag.objects.filter(entry_id__in=list(clustered), kind__in=DUPLICATE_KINDS)
    }
    new: list[Flag] = []
    raised = 0
    for group in groups:
        group = {member for member in group if member in order}
        if len(group) < 2:
            continue
        kept = min(group, key=order.__getitem__)
        for member in sorted(group - {kept}):
            exact = pairs.exact.get(member) == pairs.exact.get(kept)
            direct = partners[member].get(kept)
            if direct is not None:
                finding = _duplicate_finding(kept, direct, exact)
            else:
                via, sim = max(partners[member].items(), key=lambda p: (p[1], -p[0]))
                finding = _duplicate_finding(kept, sim, exact, via=via)
            current.add((member, finding.kind, kept))
            raised += (
                finding_apply(
                    entry_id=member,
                    finding=finding,
                    known=known.get((member, finding.kind, finding.evidence_key)),
                    new=new,
                )
                is not None
            )
    raised += len(annotation.flags_raise_many(flags=new))
    stale = Flag.objects.filter(status=FlagStatus.OPEN, kind__in=DUPLICATE_KINDS)
    if examined is None:
        # Every entry the index could have flagged, erased ones included (not indexed_entries):
        # an erased entry's open copy flag is stale too, and is closed here.
        stale = stale.filter(entry__status__in=INDEXED_STATUSES)
    else:
        stale = stale.filter(entry_id__in=list(examined))
    for flag in stale.only("pk", "entry_id", "kind", "duplicate_of_id", "status"):
        if (flag.entry_id, flag.kind, flag.duplicate_of_id) not in current:
            annotation.flag_close(flag=flag, note=_closing_note(flag, order))
    return len(groups), raised


def _closing_note(flag: Flag, order: dict[int, tuple]) -> str:
    if flag.entry_id in order and flag.duplicate_of_id in order:
        return "Another copy of this cluster is kept now."
    if flag.entry_id in order:
        return f"#{flag.entry_id} is the copy that is kept."
    return "No longer a copy of an entry under review or accepted."


def _old_clusters(entry_ids: set[int]) -> set[int]:
    """The entries that shared a cluster with these ones when their flags were written: the
    kept copy each was flagged against, and everyone else flagged against it."""
    kept = set(entry_ids)
    kept |= set(
        Flag.objects.filter(
            entry_id__in=list(entry_ids),
            kind__in=DUPLICATE_KINDS,
            status=FlagStatus.OPEN,
            duplicate_of__isnull=False,
        ).values_list("duplicate_of_id", flat=True)
    )
    mates = set(
        Flag.objects.filter(
            duplicate_of_id__in=list(kept), kind__in=DUPLICATE_KINDS, status=FlagStatus.OPEN
        ).values_list("entry_id", flat=True)
    )
    return kept | mates


def duplicates_settle(*, entry_ids: set[int]) -> int:
    """Work out the clusters these entries are in now, and were in before, through the index,
    and write their flags. The per-entry check and the changed-since rescan call this.
    Returns how many flags were raised or reopened."""
    examined = _old_clusters(entry_ids)
    pairs, visited = _pairs_around(examined)
    _, raised = _clusters_write(pairs=pairs, examined=examined | visited)
    return raised


def duplicate_check(*, entry: Entry) -> int:
    """Index the entry's current text and settle its cluster (the per-entry check)."""
    fingerprint_update(entry=entry)
    return duplicates_settle(entry_ids={entry.pk})


# --- The corpus rescan -----------------------------------------------------------------------


@dataclass(frozen=True)
class RescanReport:
    entries: int  # looked at
    pairs: int
    clusters: int
    flagged: int  # raised or reopened
    full: bool


def _rules() -> str:
    """What the stored index and flags depend on: a change makes the next rescan a full one."""
    described = json.dumps(
        {
            "threshold": settings.FLOCK_DUPLICATE_THRESHOLD,
            "dedupe": dedupe.RULES_VERSION,
            "indexed": list(INDEXED_STATUSES),
        },
        sort_keys=True,
    )
    return hashlib.sha256(described.encode()).hexdigest()


def duplicates_rescan(*, full: bool = False, workers: int | None = None) -> RescanReport:
    """The duplicate step of the nightly rescan and of every snapshot build.

    By default it costs what changed since the last run (ScanMark "duplicates"): the entries
    changed since then are indexed again (the others keep their stored signatures and band keys)
    and their clusters, old and new, are settled through the index. The whole corpus is scanned
    (block by block, on every core) on the first run, when the threshold or the duplicate rules
    changed, and when `full` is asked (`manage.py quality_rescan --full`).
    """
    started = timezone.now()
    rules = _rules()
    mark = scan_mark(name="duplicates")
    full = full or mark is None or mark.rules != rules
    if full:
        pairs, looked_at = _pairs_everywhere(workers)
        clusters, flagged = _clusters_write(pairs=pairs, examined=None)
    else:
        changed = list(
            Entry.objects.filter(updated_at__gte=mark.started_at).values_list(
                "pk", "status", *TEXT_COLUMNS[1:]
            )
        )
        indexed = set(
            indexed_entries().filter(updated_at__gte=mark.started_at).values_list("pk", flat=True)
        )
        fresh = [
            (pk, instruction, context, response)
            for pk, _status, instruction, context, response in changed
            if pk in indexed
        ]
        corpus = dedupe.fingerprints_of(fresh)
        _index_write(corpus, _stale_rows(corpus))
        # A kept copy deleted since: the flags against it lost their target.
        orphans = Flag.objects.filter(
            kind__in=DUPLICATE_KINDS, status=FlagStatus.OPEN, duplicate_of__isnull=True
        ).values_list("entry_id", flat=True)
        seeds = {row[0] for row in changed} | set(orphans)
        examined = _old_clusters(seeds)
        pairs, visited = _pairs_around(examined)
        examined |= visited
        clusters, flagged = _clusters_write(pairs=pairs, examined=examined)
        looked_at = len(examined)
    report = RescanReport(
        entries=looked_at,
        pairs=len(pairs.similarity),
        clusters=clusters,
        flagged=flagged,
        full=full,
    )
    scan_mark_save(
        name="duplicates", rules=rules, started=started, entries=report.entries, full=full
    )
    return report
