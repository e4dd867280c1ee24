"""The rows stage: stream the exportable entries into the spool files (data.jsonl, and the
train/validation split beside it), hashing as they are written, and keep a tally of what the
statistics, the diff and the card say about them, so that no row is read twice."""

from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from django.db.models import QuerySet

from annotation.models import Entry
from annotation.sources import passage_credit
from exports import dolly
from exports.services.snapshots.files import HashingFile

CHUNK_ROWS = 2_000
DATA_FILE = "data.jsonl"
TRAIN_FILE = "train.jsonl"
VALIDATION_FILE = "validation.jsonl"

# What a snapshot reads of each entry, in this order.
EXPORT_COLUMNS = (
    "pk",
    "instruction",
    "context",
    "response",
    "category__slug",
    "author_id",
    "source_id",
    "source_url",
)

ExportRow = tuple[int, int, int, str, int, int, int, bytes, bytes]
"""(id, author_id or 0, source_id or 0, category slug, instruction, context and response lengths
in characters, source_url as UTF-8, the record as UTF-8 JSON): one exported entry."""


def export_rows(*, entries: QuerySet[Entry], chunk_size: int) -> Iterator[list[ExportRow]]:
    """The entries as export rows, by id, a chunk at a time (never the whole table at once),
    through a server-side cursor on PostgreSQL. dolly.dolly_record is the one encoder of a
    record: PostgreSQL writing them itself and COPY streaming them saved about 11% of a snapshot
    job after 1% of 150k entries changed, short of the quarter that would pay for a second
    encoder and its parser (docs/benchmarks.md). The rows come as the database gives them,
    without the ORM's per-row work: the columns need no conversion."""
    sql, params = entries.values_list(*EXPORT_COLUMNS).query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(chunk_size):
            yield _export_rows_of(chunk)


def _export_rows_of(chunk) -> list[ExportRow]:
    return [
        (
            pk,
            author or 0,
            source or 0,
            slug,
            len(instruction),
            len(context),
            len(response),
            url.encode(),
            dolly.dolly_record(instruction, context, response, slug).encode(),
        )
        for pk, instruction, context, response, slug, author, source, url in chunk
    ]


@dataclass
class Tally:
    """What the card, the manifest and the pictures say about the rows, gathered as they stream
    (compact arrays: a snapshot of every entry stays small in memory)."""

    ids: array = field(default_factory=lambda: array("q"))
    digests: bytearray = field(default_factory=bytearray)
    slugs: list[str] = field(default_factory=list)  # each category once, in the order met
    categories: array = field(default_factory=lambda: array("H"))  # an index into slugs, per row
    lengths: dict = field(default_factory=lambda: {name: array("I") for name in dolly.FIELDS[:3]})
    authors: set = field(default_factory=set)
    sources: Counter = field(default_factory=Counter)
    passage_hosts: Counter = field(default_factory=Counter)
    split_counts: Counter = field(default_factory=Counter)


def rows_write(
    *,
    entries: QuerySet[Entry],
    validation_percent: float,
    spool: Path,
    on_rows: Callable[[int], None],
) -> tuple[list[dict], Tally]:
    """Stream the rows into the spool files; (the files' names, sizes and sha256, the tally).
    `on_rows` hears how many rows are written after each chunk."""
    percent = validation_percent
    split = percent > 0
    names = [DATA_FILE, *([TRAIN_FILE, VALIDATION_FILE] if split else [])]
    writers = {name: HashingFile(spool / name) for name in names}
    slug_index: dict[str, int] = {}
    tally = Tally()
    done = 0
    try:
        for chunk in export_rows(entries=entries, chunk_size=CHUNK_ROWS):
            records, train, validation = [], [], []
            for pk, author, source, slug, i_len, c_len, r_len, url, record in chunk:
                records.append(record)
                tally.digests += dolly.record_digest(record)
                tally.ids.append(pk)
                if slug not in slug_index:
                    slug_index[slug] = len(tally.slugs)
                    tally.slugs.append(slug)
                tally.categories.append(slug_index[slug])
                tally.lengths["instruction"].append(i_len)
                tally.lengths["context"].append(c_len)
                tally.lengths["response"].append(r_len)
                if source:
                    tally.sources[source] += 1
                else:
                    tally.authors.add(author)
                    if c_len:
                        # Credited by the one source-URL rule: a URL stored under a laxer one
                        # is named for what it is, never credited to an allowed source.
                        tally.passage_hosts[passage_credit(url.decode())] += 1
                if split:
                    (validation if dolly.in_validation(pk, percent) else train).append(record)
            writers[DATA_FILE].write(_lines(records))
            if split:
                writers[TRAIN_FILE].write(_lines(train))
                writers[VALIDATION_FILE].write(_lines(validation))
                tally.split_counts["train"] += len(train)
                tally.split_counts["validation"] += len(validation)
            done += len(chunk)
            on_rows(done)
        return [writers[name].finish(name) for name in names], tally
    finally:  # the spool files close however the stream ends
        for writer in writers.values():
            writer.handle.close()


def _lines(records: list[bytes]) -> bytes:
    return b"\n".join(records) + b"\n" if records else b""
