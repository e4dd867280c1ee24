"""The diff stage: each record's digest by entry id, and what was added, removed and changed
since the parent (the newest ready snapshot with the same filters)."""

from dataclasses import dataclass

import numpy as np

from exports import selectors
from exports.models import Snapshot
from exports.services.snapshots.metadata import MetadataRows
from exports.services.snapshots.options import SnapshotOptions
from exports.services.snapshots.parent import DIGEST_DTYPE, ParentRecords
from exports.services.snapshots.rows import (
    CHUNK_ROWS,
    Tally,
    chunk_places,
    export_rows,
    metadata_inputs,
)

# Where a snapshot keeps its metadata digest (Snapshot.stats, a JSON field: no column for it).
METADATA_DIGEST = "metadata_digest"


def digest_pack(*, tally: Tally) -> tuple[bytes, bytes]:
    """(id, digest) pairs sorted by id, as the row stores them for the next snapshot: (of the
    records, for its diff; of their texts, for what it copies, parent.py)."""
    ids = np.frombuffer(tally.ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    packed = []
    for digests in (tally.digests, tally.text_digests):
        pairs = np.empty(len(tally.ids), dtype=DIGEST_DTYPE)
        pairs["id"] = ids
        pairs["digest"] = np.frombuffer(bytes(digests), dtype="S8")
        packed.append(pairs[order].tobytes())
    return packed[0], packed[1]


@dataclass(frozen=True)
class Exportable:
    """What a snapshot with some options would release, as digests: `digest`, of its records
    (digest_pack, Snapshot.digest), and `metadata_digest`, of metadata.parquet's rows and the
    card's attribution (metadata.MetadataRows.digest, Snapshot.stats["metadata_digest"])."""

    digest: bytes
    metadata_digest: str

    def same_as(self, snapshot: Snapshot) -> bool:
        """Whether `snapshot` released exactly this: both digests equal. A snapshot built before
        its metadata digest was stored never is."""
        stored = (snapshot.stats or {}).get(METADATA_DIGEST)
        return stored is not None and (
            stored == self.metadata_digest and bytes(snapshot.digest) == self.digest
        )


def exportable_digests(*, options: SnapshotOptions, last: Snapshot | None = None) -> Exportable:
    """The digests a snapshot with these options would store, read and computed by the rows
    stage's own code (rows.chunk_places, rows.metadata_inputs, metadata.MetadataRows) but
    writing no file: what the nightly job compares with the last snapshot to tell whether
    anything it would release changed. The text of the entries whose text digest is `last`'s
    is not read (their record digests are `last`'s)."""
    tally = Tally()
    metadata = MetadataRows()
    entries = selectors.exportable_entries(**options.filters)
    credited: dict[bytes, str] = {}
    parent = ParentRecords.of(last, files=False)
    for chunk in export_rows(entries=entries, chunk_size=CHUNK_ROWS, parent=parent):
        tally.digests_add(chunk)
        _credits, domains, in_validation = chunk_places(chunk, options.validation_percent, credited)
        metadata.columns(**metadata_inputs(chunk, in_validation, domains))
    return Exportable(digest=digest_pack(tally=tally)[0], metadata_digest=metadata.digest())


def changes_find(*, digest: bytes, parent_digest: bytes | None) -> dict[str, list[int]]:
    """Entries added, removed and changed (their exported record differs) since the parent."""
    new = np.frombuffer(digest, dtype=DIGEST_DTYPE)
    if parent_digest is None:
        return {"added": new["id"].tolist(), "removed": [], "changed": []}
    old = np.frombuffer(bytes(parent_digest), dtype=DIGEST_DTYPE)
    _common, in_new, in_old = np.intersect1d(
        new["id"], old["id"], assume_unique=True, return_indices=True
    )
    changed = new["id"][in_new][new["digest"][in_new] != old["digest"][in_old]]
    return {
        "added": np.setdiff1d(new["id"], old["id"], assume_unique=True).tolist(),
        "removed": np.setdiff1d(old["id"], new["id"], assume_unique=True).tolist(),
        "changed": np.sort(changed).tolist(),
    }
