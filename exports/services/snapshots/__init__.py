"""Export snapshots: ask for one (requests.py), build it (build.py, a Celery job), retry a failed
one; prune old nightly ones and pin the ones to keep (retention.py).

A build runs the duplicate and licensing rescans, then its stages in order, one module each:
options.py (what to build, with the one set of defaults), rows.py (stream the exportable entries
from the database into spool files on local disk, 2,000 rows at a time, hashing as it writes:
data.jsonl, and in the same pass the Parquet shards, parquet.py, and metadata.parquet,
metadata.py), statistics.py, diff.py (against the parent), removals.py (why each removed record
went), card.py, manifest.py and archive.py (the tar's checksum, and the tar gzipped). Only when
every file is complete are they moved into the snapshot storage (files.py; a rename on local
disk) and, last, the row records their checksums and turns `ready`.
"""

from exports.services.snapshots.build import (
    BUILD_TIME_LIMIT,
    STALE_AFTER,
    SnapshotBusy,
    snapshot_build,
    snapshots_reap,
)
from exports.services.snapshots.files import snapshot_storage
from exports.services.snapshots.options import SnapshotOptions
from exports.services.snapshots.parent import DIGEST_DTYPE
from exports.services.snapshots.requests import (
    Nightly,
    snapshot_enqueue,
    snapshot_nightly,
    snapshot_request,
    snapshot_retry,
    snapshot_waiting,
)
from exports.services.snapshots.retention import snapshot_pin, snapshots_prune

__all__ = [
    "BUILD_TIME_LIMIT",
    "DIGEST_DTYPE",
    "STALE_AFTER",
    "Nightly",
    "SnapshotBusy",
    "SnapshotOptions",
    "snapshot_build",
    "snapshot_enqueue",
    "snapshot_nightly",
    "snapshot_pin",
    "snapshot_request",
    "snapshot_retry",
    "snapshot_storage",
    "snapshot_waiting",
    "snapshots_prune",
    "snapshots_reap",
]
