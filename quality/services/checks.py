"""The per-entry checks (licensing, provenance, structure) written as flags, one entry at a time
or over the corpus; and the one nightly job that runs every rescan."""

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import batched

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotation import sources
from annotation.models import AgreementAcceptance, ContributorAgreement, Entry, Flag
from quality import dedupe, personal_data
from quality.ai_phrases import ai_phrases
from quality.checks import (
    BLOCKING,
    LICENSING_FIELDS,
    STRUCTURE_KINDS,
    AgreementBook,
    check_structure,
    licensing_findings,
)
from quality.selectors import indexed_entries
from quality.services.duplicates import RescanReport, duplicate_check, duplicates_rescan
from quality.services.findings import findings_record
from quality.services.lock import rescan_lock
from quality.services.marks import scan_mark, scan_mark_save
from quality.services.references import ReferencesReport, references_check, references_rescan

logger = logging.getLogger(__name__)


def entry_check(*, entry: Entry) -> list[Flag]:
    """Run every check on one entry (on submit, and again when it is accepted) and flag what
    they find: its duplicate cluster is settled (quality/services/duplicates.py), its
    licensing, provenance and structure findings recorded, and its instruction compared with
    the reference corpora (quality/services/references.py).

    Idempotent: a finding already flagged is not flagged again (a person's decision on it
    stands; a flag a check closed reopens). An open flag whose finding is gone is closed.
    Returns the flags raised or reopened by the licensing and reference checks (duplicate
    flags apart).
    """
    duplicate_check(entry=entry)
    with transaction.atomic():
        raised = findings_record(checked=[(entry, licensing_findings(entry))])
    raised += references_check(entries=[entry])
    if raised:
        logger.info("Entry #%s: %d new flag(s)", entry.pk, len(raised))
    return raised


def defects_flag(*, entries: list[Entry]) -> Counter:
    """Flag the defects Databricks repaired in dolly-15k after release on imported entries,
    which keep their text as published. Returns how many of each kind were found."""
    checked = [(entry, check_structure(entry)) for entry in entries]
    with transaction.atomic():
        findings_record(
            checked=[(entry, findings) for entry, findings in checked if findings],
            kinds=STRUCTURE_KINDS,
        )
    return Counter(finding.kind for _, findings in checked for finding in findings)


def _licensing_rules() -> str:
    """What the licensing findings depend on besides an entry's own text and author: a change
    makes the next licensing rescan look at everything."""
    described = json.dumps(
        {
            "phrases": sorted(ai_phrases()),
            "sources": sorted(settings.FLOCK_ALLOWED_SOURCE_DOMAINS),
            "source_url_rule": sources.URL_RULE_VERSION,
            "personal_data": personal_data.RULES_VERSION,
            "blocking": sorted((str(kind), block) for kind, block in BLOCKING.items()),
            # Whose acceptance the agreement check asks for: since issue 12, every reviewer
            # whose fix is in the text as well as the author.
            "agreement_covers": ["author", "fixes"],
            "agreements": [
                [pk, published.isoformat()]
                for pk, published in ContributorAgreement.objects.order_by("pk").values_list(
                    "pk", "published_at"
                )
            ],
        },
        sort_keys=True,
    )
    return hashlib.sha256(described.encode()).hexdigest()


@dataclass(frozen=True)
class LicensingReport:
    entries: int  # looked at
    flagged: int  # raised or reopened
    full: bool


def licensing_rescan(
    *,
    full: bool = False,
    chunk_size: int = 10_000,
    workers: int | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> LicensingReport:
    """Re-run the licensing, provenance and structure checks, in chunks: each chunk's agreements
    and flags are read once, and only new findings are written.

    By default only the entries whose text changed since the last run (ScanMark "licensing"), or
    whose author accepted an agreement since, are looked at; everything is when `full` is
    asked, on the first run, and when the rules changed (the phrase list, the allowed sources,
    the personal-data patterns, which kinds block, a new agreement version). Flags what is found
    and not yet flagged, and closes open flags whose finding is gone, like entry_check.
    A chunk's findings are worked out on every core (a full rescan is mostly regular
    expressions over 150k texts); the writes stay in this process.
    """
    started = timezone.now()
    rules = _licensing_rules()
    mark = scan_mark(name="licensing")
    full = full or mark is None or mark.rules != rules
    book = AgreementBook()
    entries = indexed_entries()  # an erased entry's emptied text has no findings
    if not full:
        agreed = AgreementAcceptance.objects.filter(accepted_at__gte=mark.started_at)
        entries = entries.filter(
            Q(updated_at__gte=mark.started_at) | Q(author__in=agreed.values("user_id"))
        )
    # Rows, not model objects: the checks read only these fields (as attributes), and making a
    # million Entry objects was a quarter of this process's work.
    entries = entries.order_by("pk").values_list(*LICENSING_FIELDS, named=True)
    total = entries.count()
    done = raised = 0

    def chunks():
        # A chunk's authors and fixes are read with it, while the last chunk's children
        # compute: read when its children are forked, both cores would wait for them.
        for chunk in batched(entries.iterator(chunk_size=2_000), chunk_size):
            book.load({entry.author_id for entry in chunk})
            book.load_fixes(chunk)
            yield chunk

    def finish(chunk, found) -> None:
        nonlocal done, raised
        with transaction.atomic():
            raised += len(findings_record(checked=list(zip(chunk, found, strict=True))))
        done += len(chunk)
        if on_chunk:
            on_chunk(done, total)

    # One chunk's findings are worked out in forked processes while this one writes the last
    # chunk's flags and reads the next chunk.
    dedupe.fork_pipeline(chunks(), lambda chunk: _findings_start(chunk, book, workers), finish)
    scan_mark_save(name="licensing", rules=rules, started=started, entries=total, full=full)
    return LicensingReport(entries=total, flagged=raised, full=full)


# Fewer entries than this are checked in this process: a fork costs more than it saves.
PARALLEL_FROM = 2_000


def _findings_start(entries, book: AgreementBook, workers: int | None) -> dedupe.Forked:
    """licensing_findings of each entry, split over forked processes that start now when there
    are many (the book holds every author's agreements already, so no process but this one reads
    the database); result() gives them in order."""
    return dedupe.forked_over(
        entries,
        lambda part: [licensing_findings(entry, book) for entry in part],
        workers=workers,
        parallel_from=PARALLEL_FROM,
        combine=lambda parts: [found for part in parts for found in part],
    )


@dataclass(frozen=True)
class QualityReport:
    duplicates: RescanReport
    licensing: LicensingReport
    references: ReferencesReport


def quality_rescan(
    *,
    full: bool = False,
    workers: int | None = None,
    on_licensing_chunk: Callable[[int, int], None] | None = None,
    wait: bool = True,
) -> QualityReport:
    """The one corpus job: the duplicate rescan, the licensing rescan, then the reference
    (contamination) rescan, each costing what changed since its last run unless `full` or its
    rules changed (nightly by beat, and before every snapshot).

    One runs at a time across every worker (lock.py): with `wait` (a snapshot build, which
    must export what the rescan found) it waits for a running one and then looks at what
    changed since; without, it raises RescanBusy at once (the nightly job: the running one
    is doing its work)."""
    with rescan_lock(wait=wait):
        duplicates = duplicates_rescan(full=full, workers=workers)
        licensing = licensing_rescan(full=full, workers=workers, on_chunk=on_licensing_chunk)
        references = references_rescan(full=full, workers=workers)
    return QualityReport(duplicates=duplicates, licensing=licensing, references=references)
