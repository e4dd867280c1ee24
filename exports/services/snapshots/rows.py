"""The rows stage: stream the exportable entries into the spool files (data.jsonl, and the
train/validation split beside it), hashing as they are written, the same records in the same
order into the Hugging Face layout's Parquet shards (data/train-00000-of-00001.parquet, …;
parquet.py) and one row each into metadata.parquet (metadata.py), and keep a tally of what the
statistics, the diff and the card say about them, so that no row is read twice."""

import contextlib
import datetime
import functools
import hashlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import compress, repeat
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from annotation.models import Entry
from annotation.sources import passage_credit
from exports import dolly
from exports.services.snapshots.files import DATA_FILE, HashingFile, InOrder
from exports.services.snapshots.metadata import MetadataWriter
from exports.services.snapshots.parent import ParentRecords
from exports.services.snapshots.parquet import (
    RECORD_SCHEMA,
    SHARD_ROWS,
    ParquetSpool,
    shard_name,
)

CHUNK_ROWS = 2_000
# With a parent: rows streamed before the changed ones among them are read with their text.
FETCH_ROWS = 40_000
PARQUET_PENDING = 2  # chunks handed to the Parquet rows' thread and not yet done
CREDITS_KEPT = 50_000  # source URLs whose credit chunk_places keeps (a few MB)
TRAIN_FILE = "train.jsonl"
VALIDATION_FILE = "validation.jsonl"

# What a snapshot reads of each entry besides its text, in this order.
ROW_COLUMNS = (
    "pk",
    "category__slug",
    "author_id",
    "source_id",
    "source_url",
    "created_at",  # the metadata's writing time and contest
    "submitted_at",
    "review_round",  # whose decision and ratings the metadata gives
)
TEXT_COLUMNS = ("instruction", "context", "response")
# Where export_rows' stream has each row's category slug and stored text digest.
_SLUG_AT, _DIGEST_AT = ROW_COLUMNS.index("category__slug"), len(ROW_COLUMNS)
_TIME_PLACES = [ROW_COLUMNS.index("created_at"), ROW_COLUMNS.index("submitted_at")]


def text_keys(digests: list[str], slugs: list[str]) -> np.ndarray:
    """Each record's text key: what it is made of, as 8 bytes (big-endian uint64), the entry's
    stored text digest (Entry.text_digest, the database's MD5 of its text) mixed with its
    category slug's (a renamed category changes its records). Equal keys, equal records: what
    tells a build which records it can take from its parent (parent.py)."""
    head = np.frombuffer(bytes.fromhex("".join(digest[:16] for digest in digests)), dtype=">u8")
    slug_keys = np.array([_slug_key(slug) for slug in slugs], dtype=np.uint64)
    return (head ^ slug_keys).astype(">u8")  # numpy's result is in the machine's order


@functools.cache
def _slug_key(slug: str) -> int:
    return int.from_bytes(hashlib.blake2b(slug.encode(), digest_size=8).digest(), "big")


class ExportRow(NamedTuple):
    """One exported entry, as export_rows gives it (named, so that no reader depends on where a
    field sits). A row taken from the parent has no text (None): its record is the parent's
    line, which holds its texts (parent.texts)."""

    id: int
    author_id: int  # 0: none (imported)
    source_id: int  # 0: written here
    category: str  # the slug
    instruction_chars: int
    context_chars: int
    response_chars: int
    source_url: bytes  # UTF-8
    instruction: str | None  # as stored, for the Parquet files; None: the parent's
    context: str | None  # "" when none
    response: str | None
    created_at: datetime.datetime
    submitted_at: datetime.datetime | None  # None: imported
    review_round: int
    text_digest: bytes  # 8 bytes: its text key (text_keys)
    digest: bytes  # 8 bytes: the record's (dolly.record_digest)
    record: bytes | None  # the Dolly record as UTF-8 JSON; None: not read (the nightly job)


def export_rows(
    *, entries: QuerySet[Entry], chunk_size: int, parent: ParentRecords | None = None
) -> Iterator[list[ExportRow]]:
    """The entries as export rows, by id, a chunk at a time (never the whole table at once),
    through a server-side cursor on PostgreSQL. dolly.dolly_record is the one encoder of a
    record: PostgreSQL writing them itself and COPY streaming them saved about 11% of a snapshot
    job after 1% of 150k entries changed, short of the quarter that would pay for a second
    encoder and its parser (docs/benchmarks.md). The rows come as the database gives them,
    without the ORM's per-row work: the columns need no conversion but SQLite's times.

    With a `parent`, the stream carries each entry's stored text digest but not its text: the
    rows whose text key is the parent's are the parent's records (their lengths from its
    metadata, their lines when the parent reads its files), and only the others' text is read,
    FETCH_ROWS rows' at a time."""
    columns = (*ROW_COLUMNS, "text_digest", *(TEXT_COLUMNS if parent is None else ()))
    sql, params = entries.values_list(*columns).query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(chunk_size):
            if parent is None:
                yield _fresh_rows(_times_aware(chunk))
                continue
            group, streamed = [chunk], len(chunk)
            while streamed < FETCH_ROWS and (more := cursor.fetchmany(chunk_size)):
                group.append(more)
                streamed += len(more)
            yield from _rows_with_parent([_times_aware(chunk) for chunk in group], entries, parent)


def _times_aware(chunk) -> list:
    """The rows with their times in UTC: a database without time zones (SQLite) gives the UTC
    times it stores as naive ones; the others' rows are returned as they are."""
    if not settings.USE_TZ or connection.features.supports_timezones:
        return chunk
    rows = []
    for row in chunk:
        row = list(row)
        for at in _TIME_PLACES:
            if row[at] is not None:
                row[at] = row[at].replace(tzinfo=datetime.UTC)
        rows.append(row)
    return rows


def _fresh_rows(chunk) -> list[ExportRow]:
    """Rows read with their text (ROW_COLUMNS, the text digest, TEXT_COLUMNS)."""
    keys = text_keys([row[_DIGEST_AT] for row in chunk], [row[_SLUG_AT] for row in chunk])
    raw = keys.tobytes()
    return [_fresh_row(row, raw[8 * n : 8 * n + 8]) for n, row in enumerate(chunk)]


def _fresh_row(row, key: bytes) -> ExportRow:
    pk, slug, author, source, url, created, submitted, last_round, _digest, *text = row
    instruction, context, response = text
    context = context or ""
    record = dolly.dolly_record(instruction, context, response, slug).encode()
    return ExportRow(
        pk,
        author or 0,
        source or 0,
        slug,
        len(instruction),
        len(context),
        len(response),
        url.encode(),
        instruction,
        context,
        response,
        created,
        submitted,
        last_round,
        key,
        dolly.record_digest(record),
        record,
    )


def _rows_with_parent(
    group: list[list], entries: QuerySet[Entry], parent: ParentRecords
) -> Iterator[list[ExportRow]]:
    """Chunks of rows streamed without their text, as export rows: the parent's records where
    the text key is the parent's; the others read again with their text, in one query for the
    group: a query with the exportable rule looks up every flag that holds entries back (some
    100 ms with 180,000 flags at a million entries), so one a group, not one a chunk. Those no
    longer exportable by then are left out."""
    placed = []
    for chunk in group:
        ids = np.fromiter((row[0] for row in chunk), dtype=np.int64, count=len(chunk))
        keys = text_keys([row[_DIGEST_AT] for row in chunk], [row[_SLUG_AT] for row in chunk])
        placed.append((ids, parent.reusable(ids, keys)))
    fresh_ids = [pk for ids, places in placed for pk in ids[places < 0].tolist()]
    fresh = {}
    if fresh_ids:
        read = entries.filter(pk__in=fresh_ids).values_list(
            *ROW_COLUMNS, "text_digest", *TEXT_COLUMNS
        )
        sql, params = read.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        fresh = {row.id: row for row in _fresh_rows(_times_aware(found))}
    for chunk, (_ids, places) in zip(group, placed, strict=True):
        if rows := _chunk_with_parent(chunk, places, fresh, parent):
            yield rows


def _chunk_with_parent(
    chunk, places: np.ndarray, fresh: dict[int, ExportRow], parent: ParentRecords
) -> list[ExportRow]:
    """A chunk's export rows in id order: the parent's records made column by column (the
    stream's columns of those rows, the parent's lengths, digests and lines), then the changed
    rows read again put in their places (those gone meanwhile left out)."""
    copied = (places >= 0).tolist()
    taken = places[places >= 0]
    pks, slugs, authors, sources, urls, created, submitted, rounds, _digests = (
        list(compress(column, copied)) for column in zip(*chunk, strict=True)
    )
    text_digests, digests = parent.digests(taken)
    lines = parent.records(taken.tolist()) if parent.lines is not None else repeat(None)
    none = repeat(None)
    rows = list(
        map(
            ExportRow,
            pks,
            [author or 0 for author in authors],
            [source or 0 for source in sources],
            slugs,
            *parent.lengths[taken].T.tolist(),
            [url.encode() for url in urls],
            none,
            none,
            none,
            created,
            submitted,
            rounds,
            text_digests,
            digests,
            lines,
        )
    )
    dropped = 0
    for at in np.flatnonzero(places < 0).tolist():
        row = fresh.get(chunk[at][0])
        if row is None:  # no longer exportable
            dropped += 1
        else:
            rows.insert(at - dropped, row)
    return rows


@dataclass
class Tally:
    """What the card, the manifest and the pictures say about the rows, gathered as they stream
    (compact arrays: a snapshot of every entry stays small in memory)."""

    ids: array = field(default_factory=lambda: array("q"))
    digests: bytearray = field(default_factory=bytearray)
    text_digests: bytearray = field(default_factory=bytearray)
    slugs: list[str] = field(default_factory=list)  # each category once, in the order met
    slug_index: dict[str, int] = field(default_factory=dict)  # its place in slugs
    categories: array = field(default_factory=lambda: array("H"))  # an index into slugs, per row
    lengths: dict = field(default_factory=lambda: {name: array("I") for name in dolly.FIELDS[:3]})
    authors: set = field(default_factory=set)
    sources: Counter = field(default_factory=Counter)
    passage_hosts: Counter = field(default_factory=Counter)
    split_counts: Counter = field(default_factory=Counter)
    file_records: dict = field(default_factory=dict)  # records in each file, for the card
    metadata_digest: str = ""  # of metadata.parquet's rows and the card's attribution

    def digests_add(self, chunk: list[ExportRow]) -> None:
        """The rows' ids, their records' digests and their text digests, for the diff and the
        next build (diff.digest_pack): the build and the nightly job's "anything changed?"
        (diff.exportable_digests) both count rows here."""
        self.ids.extend(row.id for row in chunk)
        self.digests += b"".join(row.digest for row in chunk)
        self.text_digests += b"".join(row.text_digest for row in chunk)

    def chunk_add(self, chunk: list[ExportRow], credits: list[str | None]) -> list[bytes]:
        """Count a chunk's rows (`credits`: chunk_places' passage credits); their records."""
        self.digests_add(chunk)
        _ids, authors, sources, slugs, i_lens, c_lens, r_lens, *_rest, records = zip(
            *chunk, strict=True
        )
        for slug in dict.fromkeys(slugs):  # each category once, in the order met
            if slug not in self.slug_index:
                self.slug_index[slug] = len(self.slugs)
                self.slugs.append(slug)
        self.categories.extend(map(self.slug_index.__getitem__, slugs))
        self.lengths["instruction"].extend(i_lens)
        self.lengths["context"].extend(c_lens)
        self.lengths["response"].extend(r_lens)
        written_here = [not source for source in sources]
        self.sources.update(compress(sources, sources))
        self.authors.update(compress(authors, written_here))
        self.passage_hosts.update(
            compress(
                credits, [here and c_len for here, c_len in zip(written_here, c_lens, strict=True)]
            )
        )
        return list(records)


def rows_write(
    *,
    entries: QuerySet[Entry],
    validation_percent: float,
    spool: Path,
    on_rows: Callable[[int], None],
    parent: ParentRecords | None = None,
) -> tuple[list[dict], Tally]:
    """Stream the rows into the spool files; (the files' names, sizes and sha256, the tally).
    `on_rows` hears how many rows are written after each chunk. With `parent` (read with its
    files), the records whose text is unchanged are copied from the parent's files; raises
    parent.ParentMismatch when those files are not what the parent stored.

    The files, in this order: data.jsonl (and train.jsonl, validation.jsonl with a split), the
    Parquet shards of each split (every record in train when there is no split) and
    metadata.parquet."""
    percent = validation_percent
    split = percent > 0
    names = [DATA_FILE, *([TRAIN_FILE, VALIDATION_FILE] if split else [])]
    writers = {name: HashingFile(spool / name, behind=True) for name in names}
    shards = {
        name: ParquetSpool(
            spool,
            label=name,
            schema=RECORD_SCHEMA,
            name_of=lambda number, count, name=name: shard_name(name, number, count),
            shard_rows=SHARD_ROWS,
        )
        for name in (["train", "validation"] if split else ["train"])
    }
    metadata = MetadataWriter(spool)
    # Each chunk's Parquet rows are put together (a copied record's parsed from its line) and
    # handed to the shards on a thread of their own, beside this one's streaming: the shards
    # are touched from that thread only, until it is done.
    tables = InOrder("parquet-records", pending=PARQUET_PENDING)
    credited: dict[bytes, str] = {}
    tally = Tally()
    done = 0
    try:
        for chunk in export_rows(entries=entries, chunk_size=CHUNK_ROWS, parent=parent):
            credits, domains, in_validation = chunk_places(chunk, percent, credited)
            records = tally.chunk_add(chunk, credits)
            writers[DATA_FILE].write(_lines(records))
            if split:
                train = list(compress(records, [not chosen for chosen in in_validation]))
                validation = list(compress(records, in_validation))
                writers[TRAIN_FILE].write(_lines(train))
                writers[VALIDATION_FILE].write(_lines(validation))
                tally.split_counts["train"] += len(train)
                tally.split_counts["validation"] += len(validation)
            tables.submit(_records_write, chunk, in_validation, shards, parent)
            metadata.write(metadata.rows.columns(**metadata_inputs(chunk, in_validation, domains)))
            done += len(chunk)
            on_rows(done)
        if parent is not None:
            parent.finish()
        tables.wait()
        files = [writers[name].finish(name) for name in names]
        tally.file_records = {
            DATA_FILE: len(tally.ids),
            **{name: tally.split_counts[name.removesuffix(".jsonl")] for name in names[1:]},
        }
        for shard in shards.values():
            described, counts = shard.finish()
            files += described
            tally.file_records.update(
                (item["name"], count) for item, count in zip(described, counts, strict=True)
            )
        files.append(metadata.finish())
        tally.file_records[files[-1]["name"]] = len(tally.ids)
        tally.metadata_digest = metadata.digest()
        return files, tally
    finally:  # the spool files (and the Parquet files' threads) close however the stream ends
        with contextlib.ExitStack() as closing:  # each one, even if another fails to
            for writer in writers.values():
                closing.callback(writer.close)
            for shard in shards.values():
                closing.callback(shard.close)
            closing.callback(metadata.close)
            closing.callback(tables.close)  # first (last in, first out): it feeds the shards


def chunk_places(
    chunk: list[ExportRow], percent: float, credited: dict[bytes, str]
) -> tuple[list[str | None], list[str | None], list[bool]]:
    """Where each row of a chunk goes, for the rows stage and the nightly job's digest alike:
    to whom the card credits its passage (None: no passage), its metadata source_domain (None:
    no source URL) and, with a validation split (`percent` > 0), whether it is in validation
    (an empty list without a split). Credited by the one source-URL rule: a URL stored under a
    laxer one is named for what it is, never credited to an allowed source. `credited` keeps
    the credit of the URLs met in one pass over the rows (passages share their sources' pages),
    up to CREDITS_KEPT of them."""
    credits, domains = [], []
    for row in chunk:
        credit = None
        if row.context_chars:
            credit = credited.get(row.source_url)
            if credit is None:
                if len(credited) >= CREDITS_KEPT:  # a bound on memory, not a cache policy
                    credited.clear()
                credit = credited[row.source_url] = passage_credit(row.source_url.decode())
        credits.append(credit)
        domains.append(credit if row.source_url.strip() else None)
    in_validation = [dolly.in_validation(row.id, percent) for row in chunk] if percent > 0 else []
    return credits, domains, in_validation


def metadata_inputs(
    chunk: list[ExportRow], in_validation: list[bool], domains: list[str | None]
) -> dict:
    """A chunk's metadata inputs (metadata.MetadataRows.columns' arguments), column by column."""
    (
        pks,
        authors,
        sources,
        slugs,
        i_lens,
        c_lens,
        r_lens,
        _urls,
        _i,
        _c,
        _r,
        created,
        submitted,
        rounds,
        *_digests_and_record,
    ) = zip(*chunk, strict=True)  # ExportRow's fields, in order
    return {
        "ids": list(pks),
        "splits": ["validation" if chosen else "train" for chosen in in_validation]
        or ["train"] * len(chunk),
        "categories": list(slugs),
        "authors": list(authors),
        "sources": list(sources),
        "domains": domains,
        "lengths": (list(i_lens), list(c_lens), list(r_lens)),
        "times": list(zip(created, submitted, rounds, strict=True)),
    }


def _records_write(
    chunk: list[ExportRow],
    in_validation: list[bool],
    shards: dict[str, ParquetSpool],
    parent: ParentRecords | None,
) -> None:
    """A chunk's records into the Parquet shards of their splits (on the Parquet rows' thread,
    rows_write): the rows read with their text column by column (transposed), the parent's
    parsed from their data.jsonl lines (parent.texts), in the order of the chunk (by id)."""
    read = [row for row in chunk if row.instruction is not None]
    table = pa.Table.from_batches(
        [
            pa.record_batch(
                [
                    [row.id for row in read],
                    [row.instruction for row in read],
                    [row.context for row in read],
                    [row.response for row in read],
                    [row.category for row in read],
                ],
                schema=RECORD_SCHEMA,
            )
        ]
    )
    if len(read) < len(chunk):
        copied = [row for row in chunk if row.instruction is None]
        taken = parent.texts([row.id for row in copied], [row.record for row in copied])
        table = pa.concat_tables([table, taken])
        table = table.take(pc.sort_indices(table, sort_keys=[("id", "ascending")]))
    batch = table.combine_chunks().to_batches()[0]
    if shards.keys() == {"train"}:  # no split: every record in train
        shards["train"].append(batch)
    else:
        mask = pa.array(in_validation, type=pa.bool_())
        shards["train"].append(batch.filter(pc.invert(mask)))
        shards["validation"].append(batch.filter(mask))


def _lines(records: list[bytes]) -> bytes:
    return b"\n".join(records) + b"\n" if records else b""
