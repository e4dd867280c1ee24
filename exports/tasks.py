"""Export jobs. Each takes ids, loads rows, calls the service of the same name; all
idempotent."""

from celery import shared_task

from exports import services

NIGHTLY_TIME_LIMIT = 60 * 60  # quality.tasks.quality_rescan's


@shared_task(
    bind=True,
    acks_late=True,
    time_limit=services.BUILD_TIME_LIMIT,
    # A minute before the hard limit the build stops, removes what it stored and says so.
    soft_time_limit=services.BUILD_TIME_LIMIT - 60,
    max_retries=None,
)
def snapshot_build(self, snapshot_id: int) -> dict:
    """Build an export snapshot; waits its turn while another one is being built."""
    try:
        snapshot = services.snapshot_build(snapshot_id=snapshot_id, job_id=self.request.id or "")
    except services.SnapshotBusy as exc:
        if self.request.is_eager:  # in-process: built after the one running (below)
            return {"status": "pending"}
        # Waits stay shorter than the broker's visibility timeout (the staleness rule), so a
        # waiting job is never handed to a second worker while it waits.
        wait = min(15 * 2 ** min(self.request.retries, 5), services.STALE_AFTER.seconds // 2)
        raise self.retry(exc=exc, countdown=wait) from exc
    if self.request.is_eager:
        waiting = services.snapshot_waiting()
        if waiting is not None:
            services.snapshot_build(snapshot_id=waiting.pk)
    return {"version": snapshot.version, "status": snapshot.status}


# Acknowledged on receipt, like quality.tasks.quality_rescan, since it runs that rescan first:
# Redis hands a message still unacknowledged after its visibility timeout
# (FLOCK_SNAPSHOT_STALE_SECONDS, minutes) to another worker, and two rescans of the corpus at
# once would race each other's flag writes. A nightly lost with its worker costs a day at most:
# the next night's asks for what it would have. The rescan's time limit, too.
@shared_task(acks_late=False, time_limit=NIGHTLY_TIME_LIMIT)
def snapshot_nightly() -> dict:
    """Beat, nightly: ask for the day's snapshot, unless nothing exportable changed."""
    nightly = services.snapshot_nightly()
    if nightly.skipped:
        return {"skipped": True, "unchanged_since": nightly.unchanged.version}
    return {"skipped": False, "snapshot": nightly.snapshot.pk, "version": nightly.snapshot.version}


@shared_task(acks_late=True)
def snapshots_reap() -> list[int]:
    """Beat, every minute: mark failed the builds that stopped beating."""
    return [snapshot.version for snapshot in services.snapshots_reap()]
