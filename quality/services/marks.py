"""Where each corpus rescan got to (quality.models.ScanMark): what makes the next one cheap."""

import datetime

from django.utils import timezone

from annotation.models import Entry
from quality.models import ScanMark


def scan_mark(*, name: str) -> ScanMark | None:
    return ScanMark.objects.filter(name=name).first()


def scan_mark_save(
    *, name: str, rules: str, started: datetime.datetime, entries: int, full: bool
) -> None:
    """Record a finished run: the next one looks at what changed since `started`."""
    ScanMark.objects.update_or_create(
        name=name,
        defaults={
            "rules": rules,
            "started_at": started,
            "finished_at": timezone.now(),
            "entries": entries,
            "full": full,
        },
    )


def scan_marks_forget() -> None:
    """Make the next rescans full ones."""
    ScanMark.objects.all().delete()


def entry_rescan_mark(*, entry_id: int) -> None:
    """Make sure the next rescans look at this entry: its check could not be queued (the
    broker was down), so the nightly rescan runs it instead.

    The rescans look at the entries changed since their last run started (the ScanMark's
    `started_at`); this moves the entry's `updated_at` to now, after its submit or decision has
    committed, so that it counts as changed for whichever rescan starts next, even one that
    started while that transaction was still open.
    """
    Entry.objects.filter(pk=entry_id).update(updated_at=timezone.now())
