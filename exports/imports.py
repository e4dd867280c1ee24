"""Importing a public corpus in the databricks-dolly-15k format as accepted, attributed entries.

Companies load corpora this way so that contributors cannot re-submit them (they join the
duplicate index) and so that exports can include them. Only licences that can be released with
Flock's data under CC-BY-SA 3.0 are taken (FLOCK_IMPORT_LICENSES).
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


def _record(raw: bytes, categories: dict) -> dict:
    """One JSONL line as a record, or ValueError saying what is wrong with it."""
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
