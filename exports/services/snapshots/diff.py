"""The diff stage: each record's digest by entry id, and what was added, removed and changed
since the parent (the newest ready snapshot with the same filters)."""

import numpy as np

from exports.services.snapshots.rows import Tally

DIGEST_DTYPE = np.dtype([("id", "<i8"), ("digest", "S8")])  # dolly.record_digest, as bytes


def digest_pack(*, tally: Tally) -> bytes:
    """(id, digest) pairs sorted by id, as the row stores them for the next snapshot's diff."""
    ids = np.frombuffer(tally.ids, dtype=np.int64)
    packed = np.empty(len(tally.ids), dtype=DIGEST_DTYPE)
    packed["id"] = ids
    packed["digest"] = np.frombuffer(bytes(tally.digests), dtype="S8")
    return packed[np.argsort(ids, kind="stable")].tobytes()


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
