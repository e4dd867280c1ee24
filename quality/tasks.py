"""Quality jobs. Each takes ids, loads rows, calls the service of the same name; all idempotent."""

from celery import shared_task

from annotation.models import Entry
from quality import services


@shared_task(acks_late=True)
def entry_check(entry_id: int) -> int:
    entry = Entry.objects.filter(pk=entry_id).first()
    if entry is None:  # deleted meanwhile: nothing to check
        return 0
    return len(services.entry_check(entry=entry))


@shared_task(acks_late=True)
def duplicates_settle(entry_ids: list[int]) -> int:
    """Settle the duplicate clusters of these entries (after an erasure emptied them)."""
    return services.duplicates_settle(entry_ids=set(entry_ids))


# Acknowledged on receipt, unlike the other jobs: Redis hands a message still unacknowledged
# after its visibility timeout (FLOCK_SNAPSHOT_STALE_SECONDS, minutes) to another worker, and two
# rescans of the corpus at once would race each other's flag writes. A rescan lost with its worker
# costs nothing: the next night's, or the next snapshot build's, looks at what it would have.
@shared_task(acks_late=False, time_limit=60 * 60)
def quality_rescan(full: bool = False) -> dict:
    try:
        report = services.quality_rescan(full=full, wait=False)
    except services.RescanBusy:
        # Another worker is rescanning now (a second beat, a build's rescan): it does this
        # one's work, and the next run looks at whatever changed since it started.
        return {"skipped": "another rescan is running"}
    return {
        "duplicates": {
            "entries": report.duplicates.entries,
            "pairs": report.duplicates.pairs,
            "clusters": report.duplicates.clusters,
            "flagged": report.duplicates.flagged,
            "full": report.duplicates.full,
        },
        "licensing": {
            "entries": report.licensing.entries,
            "flagged": report.licensing.flagged,
            "full": report.licensing.full,
        },
        "references": {
            "entries": report.references.entries,
            "flagged": report.references.flagged,
            "corpora": report.references.corpora,
            "questions": report.references.questions,
            "full": report.references.full,
        },
    }
