"""Importing a public corpus in the databricks-dolly-15k format as accepted, attributed entries,
or a reference corpus (an evaluation set) that must never be trained on.

Companies load corpora this way so that contributors cannot re-submit them (they join the
duplicate index) and so that exports can include them. Only licences that can be released with
Flock's data under CC-BY-SA 3.0 are taken (FLOCK_IMPORT_LICENSES). A reference corpus's
questions are indexed by the quality app (quality/services/references.py) and never become
entries: they are never exported, counted or shown, and entries whose instruction matches one
are flagged and held back.
"""

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError

from annotation import services as annotation
from annotation.text import normalize_text, validate_submission
from quality import dedupe, services


@dataclass
class ImportReport:
    imported: int = 0
    already_there: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    # The defects Databricks repaired in dolly-15k after release, flagged on imported records
    # (which keep their text as published), by flag kind.
    defects: Counter = field(default_factory=Counter)
    # Flags raised because an imported record's instruction matches a reference corpus.
    references: int = 0


def _json_object(raw: bytes) -> dict:
    """One JSONL line as a JSON object, or ValueError saying what is wrong with it."""
    try:
        line = raw.decode("utf-8-sig")  # a byte-order mark on the first line is not an error
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    except RecursionError:  # a record is flat; arrays or objects nested beyond Python's stack
        raise ValueError("not a Dolly record (JSON nested too deeply)") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _record(raw: bytes, categories: dict) -> dict:
    """One JSONL line as a record, or ValueError saying what is wrong with it."""
    data = _json_object(raw)
    values = {}
    for name in ("instruction", "context", "response", "category"):
        value = data.get(name, "" if name == "context" else None)
        if value is None:
            raise ValueError(f"no {name}")
        if not isinstance(value, str):
            raise ValueError(f"{name} is not a string")
        values[name] = normalize_text(value)
    for name in ("instruction", "response"):
        if not values[name].strip():
            raise ValueError(f"{name} is blank")
    category = categories.get(values["category"].strip())
    if category is None:
        raise ValueError(f"unknown category {values['category']!r}")
    try:  # the same rules as a contributor's submission, but for the source URL
        validate_submission(
            category=category, values=values, require_source=False, check_defects=False
        )
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(m)}" for field, m in exc.message_dict.items())
        raise ValueError(problems) from None
    fingerprint = dedupe.exact_hash(values["instruction"], values["context"], values["response"])
    return {
        "instruction": values["instruction"],
        "context": values["context"],
        "response": values["response"],
        "category": category,
        "import_key": hashlib.sha256(f"{category.slug}\x1f{fingerprint}".encode()).hexdigest(),
    }


def dolly_import(
    *,
    lines: Iterable[bytes],
    source_name: str,
    license: str,
    url: str = "",
    batch_size: int = 1_000,
    progress: Callable[[int, ImportReport], None] | None = None,
) -> ImportReport:
    """Import JSONL lines (bytes); bad lines are reported with their number and skipped."""
    license = license.strip().lower()
    if license not in settings.FLOCK_IMPORT_LICENSES:
        allowed = ", ".join(settings.FLOCK_IMPORT_LICENSES)
        raise ValidationError(
            f"{license!r} cannot be released under CC-BY-SA 3.0; Flock imports {allowed}."
        )
    try:
        source = annotation.source_ensure(name=source_name, license=license, url=url)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    categories = annotation.categories_by_slug()
    report = ImportReport()
    batch: list[dict] = []
    seen: set[str] = set()

    def flush(line_number: int) -> None:
        created = annotation.entries_import(source=source, records=batch)
        report.imported += len(created)
        report.already_there += len(batch) - len(created)
        services.fingerprints_add(entries=created)
        report.defects.update(services.defects_flag(entries=created))
        report.references += len(services.references_check(entries=created))
        batch.clear()
        if progress:
            progress(line_number, report)

    number = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = _record(line, categories)
        except ValueError as exc:
            report.errors.append((number, str(exc)))
            continue
        if record["import_key"] in seen:
            report.already_there += 1
            continue
        seen.add(record["import_key"])
        batch.append(record)
        if len(batch) >= batch_size:
            flush(number)
    if batch or progress:
        flush(number)
    return report


@dataclass
class ReferenceImportReport:
    corpus: str
    read: int = 0  # lines that were not blank
    added: int = 0
    repeated: int = 0  # the same instruction as a question of the corpus already
    errors: list[tuple[int, str]] = field(default_factory=list)
    # The lines of questions too short to match safely (FLOCK_REFERENCE_MIN_WORDS): not indexed.
    too_short: list[int] = field(default_factory=list)
    # The reference check of every entry under review or accepted, run at the end.
    check: services.ReferencesReport | None = None


def _question(raw: bytes) -> str:
    """A reference line's instruction (context, response and category, if any, are not used),
    or ValueError saying what is wrong with the line."""
    data = _json_object(raw)
    instruction = data.get("instruction")
    if instruction is None:
        raise ValueError("no instruction")
    if not isinstance(instruction, str):
        raise ValueError("instruction is not a string")
    instruction = normalize_text(instruction)
    if not instruction.strip():
        raise ValueError("instruction is blank")
    return instruction


def reference_import(
    *,
    lines: Iterable[bytes],
    corpus_name: str,
    created_by=None,
    batch_size: int = 1_000,
    progress: Callable[[int, ReferenceImportReport], None] | None = None,
) -> ReferenceImportReport:
    """Import JSONL lines (bytes, the Dolly format; only `instruction` is read) as questions of
    the named reference corpus, made on first import and extended after (numbered after its last
    question, in the file's order). A question the corpus holds already (the same instruction,
    normalised) is counted as repeated; bad lines, and questions too short to match safely
    (quality's reference_question_too_short), are reported with their number and skipped. Then every entry under review or accepted is checked
    against the reference corpora (the corpora changed, so the reference rescan is a full one),
    and flagged where it matches."""
    try:
        corpus = services.reference_corpus_ensure(name=corpus_name, created_by=created_by)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    report = ReferenceImportReport(corpus=corpus.name)
    batch: list[str] = []

    def flush(line_number: int) -> None:
        added = services.reference_items_add(corpus=corpus, questions=batch)
        report.added += added
        report.repeated += len(batch) - added
        batch.clear()
        if progress:
            progress(line_number, report)

    number = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        report.read += 1
        try:
            instruction = _question(line)
        except ValueError as exc:
            report.errors.append((number, str(exc)))
            continue
        if services.reference_question_too_short(instruction):
            report.too_short.append(number)
            continue
        batch.append(instruction)
        if len(batch) >= batch_size:
            flush(number)
    if batch or progress:
        flush(number)
    report.check = services.references_rescan()
    return report
