import logging
from collections.abc import Callable
from dataclasses import dataclass
from itertools import batched

from django.conf import settings
from django.db import IntegrityError, transaction

from annotation import services as annotation
from annotation.models import Entry, Flag, FlagKind, FlagStatus
from annotation.text import TEXT_FIELDS
from quality import dedupe, selectors
from quality.checks import LICENSING_KINDS, AgreementBook, Finding, licensing_findings
from quality.models import Bucket, Fingerprint
from quality.selectors import INDEXED_STATUSES

logger = logging.getLogger(__name__)


def entry_check(*, entry: Entry) -> list[Flag]:
    """Run the duplicate, licensing and provenance checks on one entry and flag what they find.

    Idempotent: a finding already flagged (open, confirmed or dismissed) is not flagged again.
    An open flag whose finding is gone (the entry was revised, the original withdrawn) is
    closed. Returns the flags raised by this run.
    """
    findings = [*duplicate_findings(entry=entry), *licensing_findings(entry)]
    with transaction.atomic():
        flags = {(flag.kind, flag.evidence_key): flag for flag in Flag.objects.filter(entry=entry)}
        raised = _findings_record(entry=entry, findings=findings, flags=flags)
    if raised:
        logger.info("Entry #%s: %d new flag(s)", entry.pk, len(raised))
    return raised


def _findings_record(
    *, entry: Entry, findings: list[Finding], flags: dict[tuple[str, str], Flag]
) -> list[Flag]:
    """Flag the findings not yet flagged (`flags`: the entry's flags of the kinds checked, in
    any status, by kind and evidence key), and close the open ones no finding supports now.
    Returns the flags raised."""
    raised = []
    found = set()
    for finding in findings:
        key = (finding.kind, finding.evidence_key[:200])
        found.add(key)
        if key in flags:
            continue
        flag, created = annotation.flag_raise(
            entry=entry,
            kind=finding.kind,
            evidence=finding.evidence,
            evidence_key=finding.evidence_key,
            blocking=finding.blocking,
            duplicate_of=(
                Entry.objects.filter(pk=finding.duplicate_of).first()
                if finding.duplicate_of
                else None
            ),
            similarity=finding.similarity,
        )
        if created:
            raised.append(flag)
    for key, flag in flags.items():
        if flag.status == FlagStatus.OPEN and key not in found:
            annotation.flag_supersede(flag=flag, note="No longer found when checked again.")
    return raised


def entries_check_all() -> int:
    """Re-run the checks on every submitted and accepted entry (nightly and before exports)."""
    raised = 0
    entries = Entry.objects.filter(status__in=INDEXED_STATUSES).order_by("pk")
    for entry in entries.iterator(chunk_size=2000):
        raised += len(entry_check(entry=entry))
    return raised


def licensing_rescan(
    *, chunk_size: int = 1_000, on_chunk: Callable[[int, int], None] | None = None
) -> int:
    """Re-run the licensing and provenance checks on every entry under review or accepted, in
    chunks: each chunk's agreements and flags are read once, and only new findings are written.

    Flags what is found and not yet flagged (in any status: a dismissed finding stays dismissed)
    and closes open licensing flags whose finding is gone, like entry_check. Returns how many
    flags were raised. The duplicate flags are the rescan's (duplicates_rescan).
    """
    raised = 0
    book = AgreementBook()
    fields = ("pk", "author_id", "source_id", "submitted_at", "source_url", *TEXT_FIELDS)
    entries = Entry.objects.filter(status__in=INDEXED_STATUSES).order_by("pk").only(*fields)
    total = entries.count() if on_chunk else 0
    done = 0
    for chunk in batched(entries.iterator(chunk_size=chunk_size), chunk_size):
        book.load({entry.author_id for entry in chunk})
        known: dict[int, dict[tuple[str, str], Flag]] = {}
        for flag in Flag.objects.filter(entry__in=chunk, kind__in=LICENSING_KINDS):
            known.setdefault(flag.entry_id, {})[(flag.kind, flag.evidence_key)] = flag
        for entry in chunk:
            findings = licensing_findings(entry, book)
            flags = known.get(entry.pk, {})
            raised += len(_findings_record(entry=entry, findings=findings, flags=flags))
        done += len(chunk)
        if on_chunk:
            on_chunk(done, total)
    return raised


# --- Duplicates ------------------------------------------------------------------------------


def _row(entry) -> tuple[int, str, str, str]:
    return (entry.pk, entry.instruction, entry.context, entry.response)


def _index(corpus: dedupe.Corpus, rows: list[int]) -> None:
    """Write the index rows of these corpus rows, replacing what was there."""
    ids = [int(corpus.ids[r]) for r in rows]
    Fingerprint.objects.filter(entry_id__in=ids).delete()
    Fingerprint.objects.bulk_create(
        [
            Fingerprint(
                entry_id=int(corpus.ids[r]),
                exact_hash=corpus.exact[r],
                signature=corpus.signatures[r].tobytes(),
            )
            for r in rows
        ],
        ignore_conflicts=True,
    )
    Bucket.objects.bulk_create(
        [
            Bucket(fingerprint_id=int(corpus.ids[r]), key=int(key))
            for r in rows
            for key in set(corpus.keys[r].tolist())
        ],
        ignore_conflicts=True,
    )


def fingerprint_update(*, entry: Entry) -> None:
    """Put the entry's current text in the duplicate index (its hash, signature, band keys)."""
    corpus = dedupe.corpus_of([_row(entry)])
    for attempt in range(3):  # a nightly job may be rewriting the same rows right now
        try:
            with transaction.atomic():
                _index(corpus, [0])
            return
        except IntegrityError:
            if attempt == 2:
                raise


def fingerprints_add(*, entries: list[Entry]) -> None:
    """Index many entries at once (an import), in one pass over their text."""
    if entries:
        corpus = dedupe.corpus_of([_row(entry) for entry in entries])
        with transaction.atomic():
            _index(corpus, list(range(len(corpus.ids))))


def _duplicate_finding(original: int, similarity: float, exact: bool, via: int | None = None):
    percent = round(similarity * 100)
    evidence = f"Looks like entry #{via or original} ({percent}% similar)."
    if via is not None:
        evidence += f" That one repeats #{original}, which is kept."
    return Finding(
        kind=FlagKind.EXACT_DUPLICATE if exact else FlagKind.NEAR_DUPLICATE,
        evidence=evidence,
        evidence_key=f"entry:{original}",
        duplicate_of=original,
        similarity=round(similarity, 4),
    )


def duplicate_findings(*, entry: Entry) -> list[Finding]:
    """Index the entry; if it repeats an entry that is kept before it (see keep_order), say so."""
    fingerprint_update(entry=entry)
    matches = selectors.duplicates_similar(
        instruction=entry.instruction,
        context=entry.context,
        response=entry.response,
        exclude=entry.pk,
        limit=50,
    )
    if not matches:
        return []
    order = selectors.keep_orders([entry.pk, *(m.entry_id for m in matches)])
    earlier = [m for m in matches if order[m.entry_id] < order[entry.pk]]
    if not earlier:
        return []
    original = min(earlier, key=lambda m: order[m.entry_id])
    return [_duplicate_finding(original.entry_id, original.similarity, original.exact)]


@dataclass(frozen=True)
class RescanReport:
    entries: int
    pairs: int
    clusters: int
    flagged: int


def duplicates_rescan(*, workers: int | None = None) -> RescanReport:
    """Rescan every entry under review or accepted (nightly and before each export).

    Groups duplicates into clusters and keeps one entry of each (keep_order: the earliest
    accepted); every other member is flagged against it, with its true similarity to it, or,
    where it joined the cluster through another member, with that member named. The kept
    entry's own open duplicate flags within the cluster are closed. Runs on every core and
    refreshes the index rows of entries whose text changed since they were indexed.
    """
    rows = list(
        Entry.objects.filter(status__in=INDEXED_STATUSES)
        .order_by("pk")
        .values_list("pk", "instruction", "context", "response")
    )
    corpus = dedupe.corpus_parallel(rows, workers=workers)
    _refresh_index(corpus)
    threshold = settings.FLOCK_DUPLICATE_THRESHOLD
    pairs = dedupe.duplicate_pairs(corpus, threshold)
    partners: dict[int, list[tuple[int, float]]] = {}
    for a, b, sim in pairs:
        partners.setdefault(a, []).append((b, sim))
        partners.setdefault(b, []).append((a, sim))
    row_of = {int(entry_id): row for row, entry_id in enumerate(corpus.ids)}
    flagged = 0
    groups = dedupe.clusters(pairs)
    clustered = set().union(*groups) if groups else set()
    # One read of every clustered entry's order and row, not one per cluster and member.
    order = selectors.keep_orders(clustered)
    entries = Entry.objects.in_bulk(list(clustered))
    current: set[tuple[int, int]] = set()  # (member, kept) pairs the clusters support
    for group in groups:
        kept = min(group, key=order.__getitem__)
        for flag in Flag.objects.filter(
            entry_id=kept, status=FlagStatus.OPEN, duplicate_of__in=group
        ):
            annotation.flag_supersede(flag=flag, note=f"#{kept} is the copy that is kept.")
        for member in sorted(group - {kept}):
            exact = corpus.exact[row_of[member]] == corpus.exact[row_of[kept]]
            direct = dict(partners.get(member, [])).get(kept)
            if direct is not None:
                finding = _duplicate_finding(kept, direct, exact)
            else:
                via, sim = max(partners[member], key=lambda p: p[1])
                finding = _duplicate_finding(kept, sim, exact, via=via)
            flag, created = annotation.flag_raise(
                entry=entries[member],
                kind=finding.kind,
                evidence=finding.evidence,
                evidence_key=finding.evidence_key,
                blocking=finding.blocking,
                duplicate_of=entries[kept],
                similarity=finding.similarity,
            )
            flagged += created
            current.add((member, kept))
    _close_stale_duplicate_flags(current)
    return RescanReport(entries=len(rows), pairs=len(pairs), clusters=len(groups), flagged=flagged)


def _close_stale_duplicate_flags(current: set[tuple[int, int]]) -> None:
    """Open duplicate flags that no cluster supports any more (the entry or its original was
    revised, withdrawn or deleted, or another copy is kept now) stop keeping entries out."""
    open_flags = Flag.objects.filter(
        status=FlagStatus.OPEN,
        kind__in=(FlagKind.EXACT_DUPLICATE, FlagKind.NEAR_DUPLICATE),
        entry__status__in=INDEXED_STATUSES,
    ).only("pk", "entry_id", "duplicate_of_id", "status")
    for flag in open_flags:
        if (flag.entry_id, flag.duplicate_of_id) not in current:
            annotation.flag_supersede(
                flag=flag, note="No longer a copy of the entry kept when rescanned."
            )


def _refresh_index(corpus: dedupe.Corpus) -> None:
    known = dict(Fingerprint.objects.values_list("entry_id", "exact_hash"))
    stale = [
        row
        for row, entry_id in enumerate(corpus.ids)
        if known.get(int(entry_id)) != corpus.exact[row]
    ]
    for start in range(0, len(stale), 2_000):
        with transaction.atomic():
            _index(corpus, stale[start : start + 2_000])
