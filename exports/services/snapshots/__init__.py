"""Export snapshots: ask for one (requests.py), build it (build.py, a Celery job), retry a failed
one.

A build runs the duplicate and licensing rescans, then its stages in order, one module each:
options.py (what to build, with the one set of defaults), rows.py (stream the exportable entries
from the database into spool files on local disk, 2,000 rows at a time, hashing as it writes),
statistics.py, diff.py (against the parent),
card.py, manifest.py and archive.py. Only when every file is complete are they moved into the
snapshot storage (files.py; a rename on local disk) and, last, the row records their checksums
and turns `ready`.
"""

from exports.services.snapshots.build import (
    BUILD_TIME_LIMIT,
    STALE_AFTER,
    SnapshotBusy,
    snapshot_build,
    snapshots_reap,
)
from exports.services.snapshots.diff import DIGEST_DTYPE
from exports.services.snapshots.files import snapshot_storage
from exports.services.snapshots.options import SnapshotOptions
from exports.services.snapshots.requests import (
    snapshot_enqueue,
    snapshot_nightly,
    snapshot_request,
    snapshot_retry,
    snapshot_waiting,
)

__all__ = [
    "BUILD_TIME_LIMIT",
    "DIGEST_DTYPE",
    "STALE_AFTER",
    "SnapshotBusy",
    "SnapshotOptions",
    "snapshot_build",
    "snapshot_enqueue",
    "snapshot_nightly",
    "snapshot_request",
    "snapshot_retry",
    "snapshot_storage",
    "snapshot_waiting",
    "snapshots_reap",
]
