"""Parquet spool files: the Hugging Face layout's shards (data/train-00000-of-00001.parquet, and
validation-… beside them when a split is chosen) and metadata.parquet, written by the rows stage
a chunk at a time (the shards from its Parquet rows' thread), with explicit schemas (pyarrow).

Rows are buffered into row groups of ROW_GROUP_ROWS (fewer for long records: ROW_GROUP_BYTES),
and a split gets a new shard every SHARD_ROWS records; a shard's name says how many there are
("-of-00003"), known only at the end, so shards are spooled as parts and renamed then.

Each file's row groups are encoded and compressed by one thread of its own, in order, while the
rows stage goes on streaming (pyarrow releases the GIL): at a million entries, Parquet was a
sixth of the stage's time on the one core the stage's Python uses. At most PENDING row groups
wait for it, so memory stays bounded.
"""

from pathlib import Path

import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from exports import dolly
from exports.services.snapshots.files import DATA_FOLDER, InOrder, file_hashed

SHARD_ROWS = 500_000  # about 150 MB of compressed text at databricks-dolly-15k's sizes
ROW_GROUP_ROWS = 50_000
ROW_GROUP_BYTES = 8 << 20  # of Arrow data (some 9,000 records of Dolly sizes): bounds memory
# The records' text: no dictionary (every record's text is its own) and no min/max statistics
# for it; the other columns (ids, categories, the metadata) get both.
LONG_TEXT = {"instruction", "context", "response"}
PENDING = 2  # row groups handed to a file's thread and not yet written
MAX_JSON_BLOCK = 1 << 30  # bytes: pyarrow's JSON reader takes a block size below 2 GiB
COMPRESSION = "zstd"  # read by pandas, pyarrow, datasets, polars, DuckDB and Spark alike

# The records of data.jsonl, with the entry id that metadata.parquet and the manifest's changes
# key them by.
RECORD_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("instruction", pa.string(), nullable=False),
        pa.field("context", pa.string(), nullable=False),
        pa.field("response", pa.string(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
    ]
)


# A Dolly record's fields (dolly.dolly_record), all of them texts, as pyarrow's JSON reader reads them.
_DOLLY_FIELDS = pa.schema([(name, pa.string()) for name in dolly.FIELDS])


def records_parsed(ids: list[int], lines: list[bytes]) -> pa.Table:
    """The Parquet rows (RECORD_SCHEMA) of these records, from their data.jsonl lines (without
    their newlines), in order: what a build copies from its parent. A line that is not a Dolly
    record (not JSON, a field missing, another field) raises ValueError."""
    data = b"\n".join(lines) + b"\n"
    parsed = pa_json.read_json(
        pa.BufferReader(data),
        # One block (a chunk's lines, a few MB), in order; blocks split at a line's end.
        read_options=pa_json.ReadOptions(
            use_threads=False, block_size=min(len(data) + 1, MAX_JSON_BLOCK)
        ),
        parse_options=pa_json.ParseOptions(
            explicit_schema=_DOLLY_FIELDS, unexpected_field_behavior="error"
        ),
    )
    if parsed.num_rows != len(ids):
        raise ValueError(f"{len(ids):,} records hold {parsed.num_rows:,} JSON objects.")
    columns = [parsed.column(name) for name in RECORD_SCHEMA.names[1:]]
    if any(column.null_count for column in columns):
        raise ValueError("A record lacks one of its fields.")
    return pa.Table.from_arrays([pa.array(ids, type=pa.int64()), *columns], schema=RECORD_SCHEMA)


def shard_glob(split: str) -> str:
    """The pattern of a split's shards, as the dataset card's configs name them."""
    return f"{DATA_FOLDER}/{split}-*.parquet"


def shard_name(split: str, number: int, count: int) -> str:
    """A shard's name as Hugging Face's datasets writes them: data/train-00000-of-00002.parquet."""
    return f"{DATA_FOLDER}/{split}-{number:05d}-of-{count:05d}.parquet"


class ParquetSpool:
    """One Parquet file, or one split's shards, in the spool: `append` a chunk of rows at a
    time as a RecordBatch of `schema`; `finish` closes it and names, sizes and hashes the files.

    `name_of(number, count)` names file `number` of `count` (its path in the snapshot);
    `shard_rows` None: one file, however many rows. `close` must follow, however the writing
    ended: the spool owns a thread."""

    def __init__(
        self, spool: Path, *, label: str, schema: pa.Schema, name_of, shard_rows: int | None
    ):
        self.spool = spool
        self.label = label
        self.schema = schema
        self.name_of = name_of
        self.shard_rows = shard_rows
        self.parts: list[tuple[Path, int]] = []  # (spooled path, rows), in order
        self.writer: pq.ParquetWriter | None = None
        self.path: Path | None = None
        self.in_shard = 0  # rows of the open shard, written or buffered
        self.buffered: list[pa.RecordBatch] = []
        self.buffered_rows = 0
        self.buffered_bytes = 0
        self.indexed = [name for name in schema.names if name not in LONG_TEXT]
        # The file's writes, in order, on a thread of its own.
        self.thread = InOrder(f"parquet-{label}", pending=PENDING)
        self.opened: list[pq.ParquetWriter] = []  # every file opened, for close()

    def append(self, batch: pa.RecordBatch) -> None:
        while batch.num_rows:
            room = batch.num_rows
            if self.shard_rows:
                room = min(room, self.shard_rows - self.in_shard)
            head, batch = batch.slice(0, room), batch.slice(room)
            self.buffered.append(head)
            self.in_shard += head.num_rows
            self.buffered_rows += head.num_rows
            self.buffered_bytes += head.nbytes
            if self.buffered_rows >= ROW_GROUP_ROWS or self.buffered_bytes >= ROW_GROUP_BYTES:
                self._flush()
            if self.shard_rows and self.in_shard == self.shard_rows:
                self._close_shard()

    def finish(self) -> tuple[list[dict], list[int]]:
        """Close the last file (a split with no rows still gets one, empty, so that the card's
        configs always find their files); ([{name, size, sha256}], the rows of each)."""
        if self.buffered or self.writer is not None or not self.parts:
            self._close_shard()
        self.thread.wait()
        described, counts = [], []
        for number, (path, rows) in enumerate(self.parts):
            name = self.name_of(number, len(self.parts))
            final = self.spool / name
            final.parent.mkdir(parents=True, exist_ok=True)
            path.rename(final)
            described.append(file_hashed(final, name))
            counts.append(rows)
        return described, counts

    def close(self) -> None:
        """Release the open file and the thread however the stream ended (the spool goes with
        the build): what the thread was given is done first (a row group or two), then any file
        whose closing it skipped after a failed write is closed here."""
        self.thread.close()
        self.writer = None
        for writer in self.opened:
            if writer.is_open:
                writer.close()
        self.opened.clear()

    def _flush(self) -> None:
        if not self.buffered:
            return
        table = pa.Table.from_batches(self.buffered, schema=self.schema)
        # One row group a table.
        self.thread.submit(
            lambda writer: writer.write_table(table, row_group_size=table.num_rows), self._open()
        )
        self.buffered, self.buffered_rows, self.buffered_bytes = [], 0, 0

    def _open(self) -> pq.ParquetWriter:
        if self.writer is None:
            self.path = self.spool / f".{self.label}-{len(self.parts):05d}.part"
            self.writer = pq.ParquetWriter(
                self.path,
                self.schema,
                compression=COMPRESSION,
                use_dictionary=self.indexed,
                write_statistics=self.indexed,
            )
            self.opened.append(self.writer)
        return self.writer

    def _close_shard(self) -> None:
        self._flush()
        self.thread.submit(
            pq.ParquetWriter.close, self._open()
        )  # an empty file still holds its schema
        self.writer = None
        self.parts.append((self.path, self.in_shard))
        self.in_shard = 0
