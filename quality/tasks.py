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
