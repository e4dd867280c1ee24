"""Contamination: reference corpora (evaluation sets, benchmark questions kept locally) that
must never be trained on, their index, and the one writer of their flags.

A reference question is indexed by its instruction alone, under the duplicate rules
(quality/dedupe.py): its exact hash, its MinHash signature and its keys (band keys, and a short
question's delete-one keys). An entry whose instruction matches one, exactly or at
FLOCK_REFERENCE_THRESHOLD (selectors.references_matching), gets one blocking
`reference_match` flag per corpus and instruction, naming the corpus, the best question's number
and how similar, never the question's text. The flag is about the text that was judged: its
evidence_key holds the exact hash of the entry's instruction, so a moderator's dismissal (a
false match) covers that text only, and a rewrite that still matches is flagged anew. Flags are
written by findings_record like every other check's: a flag a check closed reopens when found
again, a person's decision stands, and an open flag no corpus supports any more (its corpus
deleted, the entry rewritten) is closed.

Questions are numbered in their corpus in import order (the next file's follow the last), and
one of fewer than FLOCK_REFERENCE_MIN_WORDS words is not indexed (reference_question_too_short):
a generic question would flag every entry asking it.

The check runs on submit and on acceptance (entry_check), on import (exports.imports), and in
the nightly rescan (references_rescan): the entries changed since its last run, or every entry
under review or accepted when the rules changed, and a corpus imported, extended or deleted is
a change of the rules.
"""

import hashlib
import json
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from itertools import batched

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, Count, Max, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from annotation import sources
from annotation.models import Entry, Flag, FlagKind, FlagStatus
from quality import dedupe, selectors
from quality.checks import Finding
from quality.models import ReferenceBucket, ReferenceCorpus, ReferenceItem
from quality.selectors import INDEXED_STATUSES, ReferenceMatch
from quality.services.duplicates import rows_insert
from quality.services.findings import findings_record
from quality.services.marks import scan_mark, scan_mark_save

logger = logging.getLogger(__name__)

REFERENCE_KINDS = (FlagKind.REFERENCE_MATCH,)
# Entries per chunk of the rescan: their instructions reduced at once (on every core) and
# matched against the reference index together.
CHUNK = 20_000


# --- The reference index ---------------------------------------------------------------------


def reference_corpus_ensure(*, name: str, created_by=None) -> ReferenceCorpus:
    """The reference corpus of this name, made on first import. Its name is shown to writers
    and in flags, so it meets the rule of a source's name (annotation.sources); ValueError says
    what is wrong otherwise."""
    name = unicodedata.normalize("NFC", name)
    problem = sources.source_name_error(name)
    if problem:
        raise ValueError(f"Reference corpus name {name[:80]!r}: {problem}")
    corpus, _ = ReferenceCorpus.objects.get_or_create(
        name=name, defaults={"created_by": created_by}
    )
    return corpus


def reference_question_too_short(instruction: str) -> bool:
    """Whether a reference question has too few words to be matched safely (fewer than
    FLOCK_REFERENCE_MIN_WORDS, normalised): "Summarise the passage." would flag every entry
    asking it. Such a question is not indexed; the import reports it."""
    return dedupe.word_count(instruction) < settings.FLOCK_REFERENCE_MIN_WORDS


def reference_items_add(*, corpus: ReferenceCorpus, questions: list[str]) -> int:
    """Index these instructions as questions of `corpus`, numbered after its last one in this
    order, skipping any whose exact hash the corpus holds already, that repeats an earlier one
    of the list, or that is too short to match safely (reference_question_too_short). Returns
    how many were added; the corpus's item_count is brought up to date."""
    questions = [text for text in questions if not reference_question_too_short(text)]
    reduced = dedupe.corpus_of([(row, text, "", "") for row, text in enumerate(questions)])
    with transaction.atomic():
        # One import at a time per corpus: the numbers and the repeats are read under the lock.
        ReferenceCorpus.objects.select_for_update().filter(pk=corpus.pk).first()
        held = set(
            ReferenceItem.objects.filter(
                corpus=corpus, exact_hash__in=set(reduced.exact)
            ).values_list("exact_hash", flat=True)
        )
        number = corpus.items.aggregate(last=Max("number"))["last"] or 0
        rows, items = [], []
        for row, text in enumerate(questions):
            if reduced.exact[row] in held:
                continue
            held.add(reduced.exact[row])
            rows.append(row)
            number += 1
            items.append(
                ReferenceItem(
                    corpus=corpus,
                    number=number,
                    instruction=text,
                    exact_hash=reduced.exact[row],
                    signature=reduced.signatures[row].tobytes(),
                    rules=dedupe.RULES_VERSION,
                )
            )
        created = ReferenceItem.objects.bulk_create(items, batch_size=1_000)
        _buckets_write(reduced, rows, [item.pk for item in created])
        ReferenceCorpus.objects.filter(pk=corpus.pk).update(item_count=corpus.items.count())
        if created:
            transaction.on_commit(selectors.references_exist_forget)
    corpus.refresh_from_db(fields=["item_count"])
    return len(created)


def _buckets_write(reduced: dedupe.Corpus, rows: list[int], item_ids: list[int]) -> None:
    """The keys of these corpus rows, for these items (replacing what they held)."""
    table = ReferenceBucket._meta.db_table
    with connection.cursor() as cursor:
        for where, params in selectors.sql_among("item_id", item_ids):
            cursor.execute(f"DELETE FROM {table} WHERE {where}", params)
        rows_insert(
            cursor,
            table,
            ("item_id", "key"),
            ("bigint", "bigint"),
            [
                (item_id, int(key))
                for row, item_id in zip(rows, item_ids, strict=True)
                for key in sorted(set(reduced.keys[row].tolist()))
            ],
        )


def reference_corpus_delete(*, corpus: ReferenceCorpus) -> int:
    """Delete a reference corpus with its questions and their keys (the admin's delete).
    Its open flags close at the next rescan: the corpora are part of its rules, so that one
    checks every entry again. Returns how many questions went."""
    with transaction.atomic():
        ReferenceBucket.objects.filter(item__corpus=corpus).delete()
        questions, _ = ReferenceItem.objects.filter(corpus=corpus).delete()
        ReferenceCorpus.objects.filter(pk=corpus.pk).delete()
        transaction.on_commit(selectors.references_exist_forget)
    return questions


def _parked():
    """A stand-in exact hash, unique per question and never a digest: what a question holds
    while its hash is being rewritten, so that rewriting never meets the old hashes."""
    return Concat(Value("~"), Cast("pk", CharField()))


def _reindex_stale() -> int:
    """Index again the questions indexed under other duplicate rules (dedupe.RULES_VERSION):
    their keys would not meet the entries'. Returns how many.

    New rules may normalise two questions of a corpus alike: the corpus holds one question per
    text (one_reference_item_per_text), so the lowest-numbered is kept and the others are
    deleted (and logged). A question still to be indexed again that holds one of the new hashes
    under the old rules is parked (_parked) until its own turn."""
    done = 0
    # The ids first: the batches below rewrite (and may delete) the rows a cursor would read.
    stale = ReferenceItem.objects.exclude(rules=dedupe.RULES_VERSION).order_by("pk")
    for ids in batched(stale.values_list("pk", flat=True), 2_000):
        batch = list(
            ReferenceItem.objects.filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", "corpus_id", "number", "instruction")
        )
        reduced = dedupe.corpus_of([(pk, text, "", "") for pk, _, _, text in batch])
        with transaction.atomic():
            pks = [pk for pk, *_ in batch]
            ReferenceItem.objects.filter(pk__in=pks).update(exact_hash=_parked())
            # Who else holds the new hashes: questions indexed under these rules (a collision),
            # and questions still to do (parked: their old hash means nothing now).
            texts: dict[tuple[int, str], list[tuple[int, int, int]]] = {}
            for row, (pk, corpus_id, number, _) in enumerate(batch):
                texts.setdefault((corpus_id, reduced.exact[row]), []).append((number, pk, row))
            holders = ReferenceItem.objects.filter(
                corpus_id__in={corpus_id for corpus_id, _ in texts},
                exact_hash__in={digest for _, digest in texts},
            ).exclude(pk__in=pks)
            parked = []
            for pk, corpus_id, number, digest, rules in holders.values_list(
                "pk", "corpus_id", "number", "exact_hash", "rules"
            ):
                if (corpus_id, digest) not in texts:
                    continue
                if rules != dedupe.RULES_VERSION:
                    parked.append(pk)
                else:
                    texts[(corpus_id, digest)].append((number, pk, -1))
            ReferenceItem.objects.filter(pk__in=parked).update(exact_hash=_parked())
            keep, drop = [], []
            for (corpus_id, _), holding in texts.items():
                first, *others = sorted(holding)
                if first[2] >= 0:
                    keep.append(first[2])
                drop += [(corpus_id, number, pk) for number, pk, _ in others]
            if drop:
                logger.warning(
                    "Reference questions that the duplicate rules %s make the same text as a "
                    "lower-numbered one of their corpus were deleted: %s",
                    dedupe.RULES_VERSION,
                    ", ".join(f"corpus {c} question {n}" for c, n, _ in sorted(drop)),
                )
                ReferenceItem.objects.filter(pk__in=[pk for *_, pk in drop]).delete()
                for corpus_id in {corpus_id for corpus_id, *_ in drop}:
                    ReferenceCorpus.objects.filter(pk=corpus_id).update(
                        item_count=ReferenceItem.objects.filter(corpus_id=corpus_id).count()
                    )
            keep.sort()
            items = [
                ReferenceItem(
                    pk=batch[row][0],
                    exact_hash=reduced.exact[row],
                    signature=reduced.signatures[row].tobytes(),
                    rules=dedupe.RULES_VERSION,
                )
                for row in keep
            ]
            ReferenceItem.objects.bulk_update(items, ["exact_hash", "signature", "rules"])
            _buckets_write(reduced, keep, [batch[row][0] for row in keep])
        done += len(batch)
    return done


# --- The check and the one writer of its flags -----------------------------------------------


def _finding(match: ReferenceMatch) -> Finding:
    how = "exactly" if match.exact else f"{round(match.similarity * 100)}% similar"
    return Finding(
        kind=FlagKind.REFERENCE_MATCH,
        evidence=(
            f"Its instruction matches question {match.number} of the reference corpus "
            f"“{match.corpus_name}” ({how}). Entries that match an evaluation question are "
            f"never released."
        ),
        # One flag per corpus and judged text: a dismissal covers this instruction only.
        evidence_key=f"reference:{match.corpus_id}:{match.judged}",
        similarity=round(match.similarity, 4),
    )


def _open_flagged(entry_ids=None) -> set[int]:
    """The entries (of these, or all) with an open reference flag: few, whatever the corpus."""
    flags = Flag.objects.filter(kind__in=REFERENCE_KINDS, status=FlagStatus.OPEN)
    if entry_ids is not None:
        flags = flags.filter(entry_id__in=list(entry_ids))
    return set(flags.values_list("entry_id", flat=True))


def _record(
    matches: dict[int, list[ReferenceMatch]], looked_at: list[int], open_flagged: set[int]
) -> list[Flag]:
    """Write the flags of these entries' matches, and close the open reference flags of the
    entries looked at that match nothing now. Only the entries with a match or an open flag
    (`open_flagged`) are written: most entries have neither."""
    touched = sorted(set(matches) | (open_flagged & set(looked_at)))
    if not touched:
        return []
    checked = [
        (Entry(pk=entry_id), [_finding(match) for match in matches.get(entry_id, [])])
        for entry_id in touched
    ]
    with transaction.atomic():
        return findings_record(checked=checked, kinds=REFERENCE_KINDS)


def references_check(*, entries: list[Entry]) -> list[Flag]:
    """Compare these entries' instructions with every reference corpus and write the flags
    (the per-entry check, and an import's batch). Returns the flags raised or reopened."""
    if not entries:
        return []
    matches = selectors.references_matching(
        instructions=[(entry.pk, entry.instruction) for entry in entries]
    )
    ids = [entry.pk for entry in entries]
    return _record(matches, ids, _open_flagged(ids))


@dataclass(frozen=True)
class ReferencesReport:
    entries: int  # looked at
    flagged: int  # raised or reopened
    corpora: int  # reference corpora held
    questions: int  # reference questions held
    full: bool

    @property
    def summary(self) -> str:
        """In one line, as `manage.py quality_rescan` and `import_dolly --reference` print it."""
        return (
            f"References ({'full' if self.full else 'changed since the last run'}): "
            f"{self.entries:,} entries checked against {self.questions:,} questions of "
            f"{self.corpora:,} reference corpora, {self.flagged:,} flags raised or reopened."
        )


def _rules(corpora: list[tuple[int, int]]) -> str:
    """What the reference flags depend on besides an entry's own instruction: a change makes
    the next rescan check every entry under review or accepted. A corpus imported, extended or
    deleted changes its (id, questions) pairs."""
    described = json.dumps(
        {
            "threshold": settings.FLOCK_REFERENCE_THRESHOLD,
            "dedupe": dedupe.RULES_VERSION,
            "indexed": list(INDEXED_STATUSES),
            "corpora": [list(pair) for pair in corpora],
        },
        sort_keys=True,
    )
    return hashlib.sha256(described.encode()).hexdigest()


def references_rescan(
    *,
    full: bool = False,
    workers: int | None = None,
    chunk_size: int = CHUNK,
    on_chunk: Callable[[int, int], None] | None = None,
) -> ReferencesReport:
    """The reference step of the nightly rescan and of every snapshot build (ScanMark
    "references").

    By default only the entries under review or accepted changed since the last run are
    checked. Every one of them is, in chunks (their instructions reduced on every core, and
    matched against the reference index read into memory once: no query per entry or per
    key), on the first run, when `full` is asked, and when
    the rules changed (the threshold, the duplicate rules, or the corpora: importing or deleting
    one makes the next run check everything, and close the flags no corpus supports now).
    Questions indexed under older duplicate rules are indexed again first.
    """
    started = timezone.now()
    _reindex_stale()
    corpora = list(
        ReferenceCorpus.objects.order_by("pk")
        .annotate(questions=Count("items"))
        .values_list("pk", "questions")
    )
    rules = _rules(corpora)
    mark = scan_mark(name="references")
    full = full or mark is None or mark.rules != rules
    entries = selectors.indexed_entries()  # under review or accepted, not erased
    if not full:
        entries = entries.filter(updated_at__gte=mark.started_at)
    questions = sum(count for _, count in corpora)
    open_flagged = _open_flagged()
    if questions == 0:
        # Nothing to match: only the open flags of the entries in scope can change (closed).
        entries = entries.filter(pk__in=open_flagged)
    total = entries.count()
    done = flagged = 0
    rows = entries.order_by("pk").values_list("pk", "instruction").iterator(chunk_size=5_000)
    index = selectors.reference_index() if questions and total else None
    for chunk in batched(rows, chunk_size):
        ids = [pk for pk, _ in chunk]
        matches = {}
        if index is not None:
            reduced = dedupe.corpus_parallel(
                [(pk, text, "", "") for pk, text in chunk], workers=workers
            )
            matches = selectors.references_matching(corpus=reduced, index=index)
        flagged += len(_record(matches, ids, open_flagged))
        done += len(chunk)
        if on_chunk:
            on_chunk(done, total)
    scan_mark_save(name="references", rules=rules, started=started, entries=done, full=full)
    return ReferencesReport(
        entries=done, flagged=flagged, corpora=len(corpora), questions=questions, full=full
    )
