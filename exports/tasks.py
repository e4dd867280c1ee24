"""Quality and export jobs. Each takes ids, loads rows, calls the service of the same name; all
idempotent."""

from celery import shared_task

from annotation.models import Entry
from exports import services


@shared_task(acks_late=True)
def entry_check(entry_id: int) -> int:
    entry = Entry.objects.filter(pk=entry_id).first()
    if entry is None:  # deleted meanwhile: nothing to check
        return 0
    return len(services.entry_check(entry=entry))


@shared_task(acks_late=True)
def entries_check_all() -> int:
    return services.entries_check_all()


@shared_task(acks_late=True, time_limit=60 * 60)
def duplicates_rescan() -> dict:
    report = services.duplicates_rescan()
    return {
        "entries": report.entries,
        "pairs": report.pairs,
        "clusters": report.clusters,
        "flagged": report.flagged,
    }


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
        raise self.retry(
            exc=exc, countdown=min(15 * 2 ** min(self.request.retries, 5), 300)
        ) from exc
    if self.request.is_eager:
        waiting = services.snapshot_waiting()
        if waiting is not None:
            services.snapshot_build(snapshot_id=waiting.pk)
    return {"version": snapshot.version, "status": snapshot.status}


@shared_task(acks_late=True)
def snapshot_nightly() -> int:
    return services.snapshot_nightly().pk
