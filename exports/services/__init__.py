"""Every write in the exports app, one module per area, all reachable as `services.<name>`."""

from exports.services.snapshots import (
    BUILD_TIME_LIMIT,
    STALE_AFTER,
    Nightly,
    SnapshotBusy,
    SnapshotOptions,
    snapshot_build,
    snapshot_enqueue,
    snapshot_nightly,
    snapshot_pin,
    snapshot_request,
    snapshot_retry,
    snapshot_storage,
    snapshot_waiting,
    snapshots_prune,
    snapshots_reap,
)

__all__ = [
    "BUILD_TIME_LIMIT",
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
