"""Every write in the exports app, one module per area, all reachable as `services.<name>`."""

from exports.services.quality import (
    RescanReport,
    duplicate_findings,
    duplicates_rescan,
    entries_check_all,
    entry_check,
    fingerprint_update,
    fingerprints_add,
    licensing_rescan,
    on_entry_decided,
    on_entry_submitted,
)
from exports.services.snapshots import (
    BUILD_TIME_LIMIT,
    SnapshotBusy,
    SnapshotOptions,
    snapshot_build,
    snapshot_enqueue,
    snapshot_nightly,
    snapshot_request,
    snapshot_retry,
    snapshot_storage,
    snapshot_waiting,
)

__all__ = [
    "BUILD_TIME_LIMIT",
    "RescanReport",
    "SnapshotBusy",
    "SnapshotOptions",
    "duplicate_findings",
    "duplicates_rescan",
    "entries_check_all",
    "entry_check",
    "fingerprint_update",
    "fingerprints_add",
    "licensing_rescan",
    "on_entry_decided",
    "on_entry_submitted",
    "snapshot_build",
    "snapshot_enqueue",
    "snapshot_nightly",
    "snapshot_request",
    "snapshot_retry",
    "snapshot_storage",
    "snapshot_waiting",
]
