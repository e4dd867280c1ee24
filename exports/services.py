import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from annotation import services as annotation
from annotation.models import Entry, EntryStatus, Flag, FlagKind
from exports.models import Bucket, Fingerprint
from exports.quality import dedupe
from exports.quality.checks import BLOCKING, licensing_findings

logger = logging.getLogger(__name__)

CHECKED_STATUSES = (EntryStatus.SUBMITTED, EntryStatus.ACCEPTED)


def entry_check(*, entry: Entry) -> list[Flag]:
    """Run the duplicate, licensing and provenance checks on one entry and flag what they find.

    Idempotent: a finding already flagged (open, confirmed or dismissed) is not flagged again.
    Returns the flags raised by this run.
    """
    raised = entry_duplicates_check(entry=entry)
    with transaction.atomic():
        for finding in licensing_findings(entry):
            flag, created = annotation.flag_raise(
                entry=entry,
                kind=finding.kind,
                evidence=finding.evidence,
                evidence_key=finding.evidence_key,
                blocking=finding.blocking,
            )
            if created:
                raised.append(flag)
    if raised:
        logger.info("Entry #%s: %d new flag(s)", entry.pk, len(raised))
    return raised


def entries_check_all() -> int:
    """Re-run the checks on every submitted and accepted entry (nightly and before exports)."""
    raised = 0
    entries = Entry.objects.filter(status__in=CHECKED_STATUSES).order_by("pk")
    for entry in entries.iterator(chunk_size=2000):
        raised += len(entry_check(entry=entry))
    return raised


def on_entry_decided(sender, *, decision, **kwargs) -> None:
    """Receiver of annotation.events.entry_decided: a reviewer's fix may have changed the text."""
    if decision.outcome == EntryStatus.ACCEPTED:
        entry = decision.entry
        transaction.on_commit(lambda: fingerprint_update(entry=entry))


def on_entry_submitted(sender, *, entry: Entry, **kwargs) -> None:
    """Receiver of annotation.events.entry_submitted: check the entry once the submit commits."""
    from exports import tasks

    transaction.on_commit(lambda: tasks.entry_check.delay(entry.pk))


# --- Duplicates ------------------------------------------------------------------------------

INDEXED_STATUSES = (EntryStatus.SUBMITTED, EntryStatus.ACCEPTED)


def _row(entry) -> tuple[int, str, str, str]:
    return (entry.pk, entry.instruction, entry.context, entry.response)


def fingerprint_update(*, entry: Entry) -> Fingerprint:
    """Put the entry's current text in the duplicate index (one row and its band keys)."""
    corpus = dedupe.corpus_of([_row(entry)])
    with transaction.atomic():
        fingerprint, _ = Fingerprint.objects.update_or_create(
            entry=entry, defaults={"exact_hash": corpus.exact[0]}
        )
        Bucket.objects.filter(fingerprint=fingerprint).delete()
        Bucket.objects.bulk_create(
            [Bucket(fingerprint=fingerprint, key=int(k)) for k in set(corpus.keys[0].tolist())]
        )
    return fingerprint


@dataclass(frozen=True)
class Match:
    entry_id: int
    similarity: float
    exact: bool


def duplicates_similar(
    *, instruction: str, context: str, response: str, exclude: int | None = None, limit: int = 3
) -> list[Match]:
    """The indexed entries (under review or accepted) this text duplicates, most similar first.

    One exact-hash look-up, one look-up of 21 band keys, one read of the candidates' text and
    state, then their true similarity: fast enough to run while a writer types.
    """
    query = dedupe.corpus_of([(0, instruction, context, response)])
    threshold = settings.FLOCK_DUPLICATE_THRESHOLD
    # Two index look-ups, then the candidates' text and state: each query uses one index.
    exact_ids = set(
        Fingerprint.objects.filter(exact_hash=query.exact[0]).values_list("entry_id", flat=True)
    )
    bucket_ids = set(
        Bucket.objects.filter(key__in=[int(k) for k in query.keys[0]]).values_list(
            "fingerprint_id", flat=True
        )
    )
    rows = list(
        Entry.objects.filter(pk__in=exact_ids | bucket_ids, status__in=INDEXED_STATUSES)
        .exclude(pk=exclude)
        .values_list("pk", "instruction", "context", "response")
    )
    matches = [
        Match(entry_id=row[0], similarity=1.0, exact=True) for row in rows if row[0] in exact_ids
    ]
    candidates = [row for row in rows if row[0] not in exact_ids]
    if candidates:
        corpus = dedupe.corpus_of([(0, instruction, context, response), *candidates])
        for row in range(1, len(corpus.ids)):
            similar = corpus.similarity(0, row, threshold)
            if similar is not None:
                matches.append(Match(int(corpus.ids[row]), similar, exact=False))
    matches.sort(key=lambda m: (-m.similarity, m.entry_id))
    return matches[:limit]


def _canonical(entry_ids) -> int:
    """The copy a cluster keeps: the earliest accepted entry, else the earliest submitted."""
    entries = Entry.objects.filter(pk__in=entry_ids).values_list("pk", "status", "submitted_at")
    return min(entries, key=lambda e: (e[1] != EntryStatus.ACCEPTED, e[2], e[0]))[0]


def _flag_duplicate(entry: Entry, original_id: int, similarity: float) -> Flag | None:
    hashes = dict(
        Fingerprint.objects.filter(entry_id__in=[entry.pk, original_id]).values_list(
            "entry_id", "exact_hash"
        )
    )
    exact = hashes.get(entry.pk) is not None and hashes.get(entry.pk) == hashes.get(original_id)
    kind = FlagKind.EXACT_DUPLICATE if exact else FlagKind.NEAR_DUPLICATE
    percent = round(similarity * 100)
    flag, created = annotation.flag_raise(
        entry=entry,
        kind=kind,
        evidence=f"Looks like entry #{original_id} ({percent}% similar).",
        evidence_key=f"entry:{original_id}",
        blocking=BLOCKING[kind],
        duplicate_of=Entry.objects.get(pk=original_id),
        similarity=round(similarity, 4),
    )
    return flag if created else None


def entry_duplicates_check(*, entry: Entry) -> list[Flag]:
    """Index the entry and flag it if it repeats an earlier one (not dropped: a moderator and
    the reviewers see the link)."""
    fingerprint_update(entry=entry)
    matches = duplicates_similar(
        instruction=entry.instruction,
        context=entry.context,
        response=entry.response,
        exclude=entry.pk,
        limit=20,
    )
    earlier = {m.entry_id: m.similarity for m in matches if m.entry_id < entry.pk}
    if not earlier:
        return []
    original = _canonical(earlier)
    flag = _flag_duplicate(entry, original, earlier[original])
    return [flag] if flag else []


@dataclass(frozen=True)
class RescanReport:
    entries: int
    pairs: int
    clusters: int
    flagged: int


def duplicates_rescan(*, workers: int | None = None) -> RescanReport:
    """Rescan every entry under review or accepted (nightly and before each export).

    Groups duplicates into clusters, keeps the earliest accepted entry of each as canonical and
    flags the others against it. Runs on all cores (exports/quality/dedupe.py), and refreshes
    the index rows of entries whose text changed since they were indexed.
    """
    rows = list(
        Entry.objects.filter(status__in=INDEXED_STATUSES)
        .order_by("pk")
        .values_list("pk", "instruction", "context", "response")
    )
    corpus = dedupe.corpus_parallel(rows, workers=workers)
    _refresh_index(corpus)
    pairs = dedupe.duplicate_pairs(corpus, settings.FLOCK_DUPLICATE_THRESHOLD)
    similarity = {}
    for a, b, sim in pairs:
        similarity[(a, b)] = similarity[(b, a)] = sim
    flagged = 0
    groups = dedupe.clusters(pairs)
    for group in groups:
        canonical = _canonical(group)
        for entry in Entry.objects.filter(pk__in=group - {canonical}):
            sim = similarity.get((entry.pk, canonical)) or max(
                similarity.get((entry.pk, other), 0.0) for other in group
            )
            if _flag_duplicate(entry, canonical, sim):
                flagged += 1
    return RescanReport(entries=len(rows), pairs=len(pairs), clusters=len(groups), flagged=flagged)


def fingerprints_add(*, entries: list[Entry]) -> None:
    """Index many entries at once (an import), in one pass over their text."""
    if entries:
        _refresh_index(dedupe.corpus_of([_row(entry) for entry in entries]))


def _refresh_index(corpus: dedupe.Corpus) -> None:
    known = dict(Fingerprint.objects.values_list("entry_id", "exact_hash"))
    stale = [
        row
        for row, entry_id in enumerate(corpus.ids)
        if known.get(int(entry_id)) != corpus.exact[row]
    ]
    for start in range(0, len(stale), 2_000):
        chunk = stale[start : start + 2_000]
        ids = [int(corpus.ids[row]) for row in chunk]
        with transaction.atomic():
            Fingerprint.objects.filter(entry_id__in=ids).delete()
            Fingerprint.objects.bulk_create(
                [
                    Fingerprint(entry_id=int(corpus.ids[r]), exact_hash=corpus.exact[r])
                    for r in chunk
                ]
            )
            Bucket.objects.bulk_create(
                [
                    Bucket(fingerprint_id=int(corpus.ids[r]), key=int(key))
                    for r in chunk
                    for key in set(corpus.keys[r].tolist())
                ]
            )
