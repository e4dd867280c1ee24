"""Where each corpus rescan got to (quality.models.ScanMark): what makes the next one cheap."""

import datetime

from django.utils import timezone

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
