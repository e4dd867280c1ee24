"""Keeping disk: the retention rule for nightly snapshots, and pinning, which exempts one.

FLOCK_NIGHTLY_KEEP keeps the newest N ready nightly snapshots that nobody pinned; the older
ones turn `pruned`, and lose their files a run later. Their rows stay: their versions, changes
and removals are the history later snapshots' cards tell. A snapshot a person built (the page,
the API, the command) is never pruned, nor a pinned one.

Two phases, so that no download breaks midway: a run marks snapshots pruned (from then on every
download of theirs is a 404 saying why), and deletes the files only of snapshots pruned before
it started and at least PRUNE_GRACE ago; a plain tar, which streams its members one by one from
the storage, has until then to finish. The nightly job prunes once a day, so files go a day
after their snapshot is pruned. A pruned snapshot's row says when (Snapshot.stats, a JSON field
whose other keys describe the files it had: PRUNED_AT, then FILES_DELETED_AT once its files are
gone, after which no run looks at its storage again).
"""

import datetime
import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from config.errors import ActionForbidden, StateConflict
from exports.models import Snapshot, SnapshotStatus
from exports.roles import is_data_scientist
from exports.services.snapshots.files import snapshot_storage

logger = logging.getLogger(__name__)

# Said where a pruned snapshot's files are asked for (downloads, its page).
PRUNED_TEXT = (
    "its files were removed by the retention rule, which keeps the newest nightly snapshots "
    "(FLOCK_NIGHTLY_KEEP) and every snapshot a person built or pinned"
)
# How long a pruned snapshot's files outlive its marking, at least: downloads begun before it
# was marked can finish. (A fixed time, not a setting: the daily prune waits longer anyway.)
PRUNE_GRACE = datetime.timedelta(hours=1)
# Keys of a pruned snapshot's Snapshot.stats: when it was marked pruned and when its files were
# deleted (ISO 8601). A pruned snapshot without FILES_DELETED_AT still has files to delete.
PRUNED_AT = "pruned_at"
FILES_DELETED_AT = "files_deleted_at"


def _prunable():
    """The snapshots the rule may prune: ready nightlies (Snapshot.is_nightly) nobody pinned."""
    return Snapshot.objects.filter(Snapshot.NIGHTLY, status=SnapshotStatus.READY, pinned=False)


def snapshots_prune(*, keep: int | None = None) -> list[Snapshot]:
    """Prune all but the newest `keep` (FLOCK_NIGHTLY_KEEP; 0 keeps all) ready, unpinned
    nightly snapshots: each turns `pruned` now (so nothing offers its files any more, and a pin
    arriving meanwhile finds it pruned); then the files of the snapshots pruned before this run,
    PRUNE_GRACE ago or more, are deleted. Idempotent: a second run prunes nothing more, and
    deletes what an interrupted run left of a pruned snapshot's files. Returns the snapshots
    pruned now."""
    keep = settings.FLOCK_NIGHTLY_KEEP if keep is None else keep
    started = timezone.now()
    pruned = []
    if keep > 0:
        older = _prunable().order_by("-version").only("pk", "version", "stats")[keep:]
        for snapshot in older:
            # Only if it is still ready and unpinned (a pin or another run may have come first).
            # Its stats are the build's, unchanged since: written back with the time added.
            stats = {**snapshot.stats, PRUNED_AT: started.isoformat()}
            if _prunable().filter(pk=snapshot.pk).update(status=SnapshotStatus.PRUNED, stats=stats):
                pruned.append(snapshot)
    _pruned_files_delete(before=started - PRUNE_GRACE)
    return pruned


def _pruned_files_delete(*, before: datetime.datetime) -> None:
    """Delete everything under the storage directory of each pruned snapshot whose files are
    not deleted yet, pruned `before` (or before the time was kept), and note that they are."""
    storage = snapshot_storage()
    pending = (
        Snapshot.objects.filter(status=SnapshotStatus.PRUNED)
        .exclude(stats__has_key=FILES_DELETED_AT)
        .only("pk", "version", "stats")
    )
    for snapshot in pending:
        at = snapshot.stats.get(PRUNED_AT)
        if at is not None and datetime.datetime.fromisoformat(at) > before:
            continue  # in its grace: downloads begun before it was pruned may still read
        try:
            removed = _tree_delete(storage, snapshot.directory)
        except Exception:
            logger.exception("Snapshot v%s: could not delete its pruned files", snapshot.version)
            continue
        stats = {**snapshot.stats, FILES_DELETED_AT: timezone.now().isoformat()}
        Snapshot.objects.filter(pk=snapshot.pk, status=SnapshotStatus.PRUNED).update(stats=stats)
        logger.info(
            "Snapshot v%s pruned by the retention rule: %d files deleted",
            snapshot.version,
            removed,
        )


def snapshots_prune_after(snapshot: Snapshot) -> None:
    """After a nightly snapshot is ready: apply the retention rule. A failure is logged; it never
    fails the build (the next nightly tries again)."""
    if not snapshot.is_nightly or not snapshot.is_ready:
        return
    try:
        snapshots_prune()
    except Exception:
        logger.exception("Snapshot v%s is ready, but the retention rule failed", snapshot.version)


def snapshots_prune_skipped() -> None:
    """On a night the nightly job skips: apply the rule all the same, so that the files of the
    snapshots pruned the night before go (nothing new is pruned: no nightly became ready). A
    failure is logged; the job still reports its skip."""
    try:
        snapshots_prune()
    except Exception:
        logger.exception("The nightly snapshot was skipped, and the retention rule failed")


def _tree_delete(storage, directory: str) -> int:
    """Delete everything under `directory` in the storage (subfolders too), then the folder
    itself where the storage has folders; the number of files deleted."""
    try:
        folders, names = storage.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    removed = 0
    for folder in folders:
        removed += _tree_delete(storage, f"{directory}/{folder}")
    for name in names:
        storage.delete(f"{directory}/{name}")
        removed += 1
    storage.delete(directory)  # local disk: the empty folder; object stores: nothing there
    return removed


def snapshot_pin(*, snapshot: Snapshot, user: AbstractBaseUser, pinned: bool) -> Snapshot:
    """Pin a ready snapshot, so that the retention rule keeps it, or unpin one (any status).
    Data scientists and staff only. Pinning a pinned snapshot keeps who pinned it first."""
    if not is_data_scientist(user):
        raise ActionForbidden("Only data scientists and staff pin snapshots.")
    if not pinned:
        Snapshot.objects.filter(pk=snapshot.pk).update(pinned=False, pinned_by=None)
    elif not Snapshot.objects.filter(
        pk=snapshot.pk, status=SnapshotStatus.READY, pinned=False
    ).update(pinned=True, pinned_by=user):
        current = Snapshot.objects.get(pk=snapshot.pk)
        if not (current.is_ready and current.pinned):
            raise StateConflict(
                f"Only a ready snapshot can be pinned; v{current.version} is {current.status}."
            )
    snapshot.refresh_from_db()
    return snapshot
