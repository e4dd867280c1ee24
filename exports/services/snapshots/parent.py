"""What a build takes from its parent (the newest ready snapshot with the same filters) instead
of reading it from the database again: the records whose text is unchanged.

Every snapshot stores, beside each record's digest (Snapshot.digest), its text key
(Snapshot.text_digest, rows.text_keys): the entry's text digest, which the database works out
on every write (Entry.text_digest, a generated column), mixed with its category's slug. The next
build reads every exportable entry's stored digest, but not its text: an entry whose key is the
parent's has the parent's record, so its line is copied from the parent's data.jsonl (its texts
for the Parquet files parsed from that line) and its lengths from the parent's metadata.parquet,
in id order, as the files hold them. Only the changed and new entries' text is read and encoded. The
digest is the database's own, so it sees every change, whoever made it (a reviewer's fix, an
erasure, an admin's UPDATE in psql): nothing depends on `updated_at`.

The parent's files are checked as they are read: data.jsonl's lines against the sha256 and the
record count its snapshot stored, metadata.parquet against its sha256 and ids. A file that does
not match (a storage that lost or changed it) raises ParentMismatch, and the build writes every
record from the database instead (build._rows).
"""

import bisect
import contextlib
import hashlib
import logging

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from exports.models import Snapshot
from exports.services.snapshots.files import (
    DATA_FILE,
    InOrder,
    snapshot_storage,
)
from exports.services.snapshots.metadata import COLUMNS, METADATA_FILE
from exports.services.snapshots.parquet import RECORD_SCHEMA, records_parsed

# (entry id, 8-byte digest) pairs sorted by id: Snapshot.digest and Snapshot.text_digest.
DIGEST_DTYPE = np.dtype([("id", "<i8"), ("digest", "S8")])
_KEYS_DTYPE = np.dtype([("id", "<i8"), ("key", ">u8")])  # Snapshot.text_digest, as numbers
_RAW_DTYPE = np.dtype([("id", "<i8"), ("digest", "V8")])  # either, its digests as 8 bytes
logger = logging.getLogger(__name__)
LENGTHS = [name for name, *_ in COLUMNS if name.endswith("_chars")]  # in text order
LINES_BLOCK = 1 << 20  # bytes of data.jsonl read at a time


class ParentMismatch(Exception):
    """The parent's files do not hold what its row says they do."""


class ParentRecords:
    """The parent's records by id: which ones an entry can take (`reusable`), their digests and
    lengths, and, with `files`, their data.jsonl lines (`records`, asked for in increasing id
    order, once) and those lines' Parquet rows (`texts`)."""

    def __init__(self, snapshot: Snapshot, *, files: bool):
        keys = np.frombuffer(bytes(snapshot.text_digest), dtype=_KEYS_DTYPE)
        records = np.frombuffer(bytes(snapshot.digest), dtype=DIGEST_DTYPE)
        if not np.array_equal(keys["id"], records["id"]):
            raise ParentMismatch(f"v{snapshot.version}'s two digests hold other ids.")
        self.version = snapshot.version
        self._raw = (bytes(snapshot.text_digest), bytes(snapshot.digest))
        self.ids = keys["id"]
        self.keys = keys["key"]
        self.lines: _Lines | None = None
        storage = snapshot_storage()
        described = {item["name"]: item["sha256"] for item in snapshot.files}
        try:
            with _reading():
                self.lengths = self._lengths(storage, snapshot.directory, described)
                if files:
                    self.lines = _Lines(
                        storage.open(f"{snapshot.directory}/{DATA_FILE}", "rb"),
                        count=len(self.ids),
                        sha256=described[DATA_FILE],
                    )
        except ParentMismatch:
            self.close()
            raise

    def _lengths(self, storage, directory: str, described: dict[str, str]) -> np.ndarray:
        """Each record's (instruction, context, response) lengths, by place, from the parent's
        metadata.parquet (read whole, and checked against its sha256)."""
        with storage.open(f"{directory}/{METADATA_FILE}", "rb") as handle:
            data = handle.read()
        if hashlib.sha256(data).hexdigest() != described[METADATA_FILE]:
            raise ParentMismatch(f"{METADATA_FILE} is not the file its snapshot stored.")
        table = pq.read_table(pa.BufferReader(data), columns=["id", *LENGTHS])
        if not np.array_equal(table.column("id").to_numpy(), self.ids):
            raise ParentMismatch(f"{METADATA_FILE} holds other records.")
        return np.column_stack([table.column(name).to_numpy() for name in LENGTHS])

    @classmethod
    def of(cls, snapshot: Snapshot | None, *, files: bool) -> "ParentRecords | None":
        """The parent's records, or None when there is nothing to take: no parent, one built
        before text keys were stored, or one whose files are gone or not its own (logged).
        (A build whose parent has other files, build.LAYOUT, asks for none.)"""
        if snapshot is None or not bytes(snapshot.text_digest):
            return None
        try:
            return cls(snapshot, files=files)
        except ParentMismatch as exc:
            logger.warning("v%s's records cannot be copied: %s", snapshot.version, exc)
            return None

    def reusable(self, ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Each entry's place among the parent's records, or -1 where its text key
        (rows.text_keys) is not the parent's (a new entry, or a changed one)."""
        at = np.searchsorted(self.ids, ids)
        inside = at < len(self.ids)
        at[~inside] = 0
        same = inside & (self.ids[at] == ids) & (self.keys[at] == keys)
        return np.where(same, at, -1)

    def digests(self, places: np.ndarray) -> tuple[list[bytes], list[bytes]]:
        """(The text digests, the record digests) of the parent's records at `places`, as
        stored (8 bytes each: read as raw items, not S8, whose items drop trailing zero
        bytes)."""
        texts, records = (
            np.frombuffer(raw, dtype=_RAW_DTYPE)["digest"][places].tolist() for raw in self._raw
        )
        return texts, records

    def records(self, places: list[int]) -> list[bytes]:
        """The data.jsonl lines at these places (increasing), without their newlines."""
        with _reading():
            return self.lines.take(places)

    def texts(self, ids: list[int], lines: list[bytes]) -> pa.Table:
        """The Parquet rows (RECORD_SCHEMA) of the records with these ids, from their data.jsonl
        `lines` (records() gave them): each Dolly record holds its texts and category as the
        Parquet files do, so the parent's own shards are never read (pyarrow's JSON reader
        parses a chunk's lines in C; reading the shards held some 100-150 MB more at 150,000
        records)."""
        if not ids:
            return RECORD_SCHEMA.empty_table()
        with _reading():
            return records_parsed(ids, lines)

    def finish(self) -> None:
        """Read what is left of data.jsonl and check it whole (its sha256 and line count)."""
        if self.lines is not None:
            with _reading():
                self.lines.finish()

    def close(self) -> None:
        if self.lines is not None:
            self.lines.close()


@contextlib.contextmanager
def _reading():
    """Reading the parent's files: a file gone or unlisted, a metadata.parquet unreadable as
    Parquet or a data.jsonl line that is no Dolly record (pyarrow's errors are OSError and
    ValueError) is a ParentMismatch, the one error a build falls back on."""
    try:
        yield
    except (OSError, KeyError, ValueError) as exc:
        raise ParentMismatch(f"{type(exc).__name__}: {exc}") from exc


class _Lines:
    """data.jsonl's lines, read forwards once, a block at a time, and hashed as they go (skipped
    ones too; the hashing on a thread of its own)."""

    def __init__(self, handle, *, count: int, sha256: str):
        self.handle = handle
        self.count = count
        self.expected = sha256
        self.sha256 = hashlib.sha256()
        self.hashing = InOrder("parent-lines", pending=4)
        self.lines: list[bytes] = []  # the whole lines of the block read last
        self.first = 0  # the place of lines[0]
        self.at = 0  # how many lines were read: the next line's place
        self.tail = b""  # the start of a line the block read last did not end

    def take(self, places: list[int]) -> list[bytes]:
        out: list[bytes] = []
        start = 0
        while start < len(places):
            while places[start] >= self.at:
                if not self._read():
                    raise ParentMismatch(f"data.jsonl ends before record {places[start] + 1:,}.")
            # The places in the block read last, taken at once.
            end = bisect.bisect_left(places, self.at, start)
            first = self.first
            out += [self.lines[place - first] for place in places[start:end]]
            start = end
        return out

    def _read(self) -> bool:
        block = self.handle.read(LINES_BLOCK)
        if not block:
            return False
        self.hashing.submit(self.sha256.update, block)
        self.lines = (self.tail + block).split(b"\n")
        self.tail = self.lines.pop()
        self.first = self.at
        self.at += len(self.lines)
        return True

    def finish(self) -> None:
        while self._read():
            pass
        self.hashing.wait()
        if self.tail or self.at != self.count or self.sha256.hexdigest() != self.expected:
            raise ParentMismatch("data.jsonl is not the file its snapshot stored.")

    def close(self) -> None:
        self.hashing.close()
        self.handle.close()
