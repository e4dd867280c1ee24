"""The quality app's receivers of annotation's events (connected in QualityConfig.ready): each
defers its check to a Celery task that is queued once the caller's transaction commits. A check
that cannot be queued (the broker is down) is left to the next rescan."""

from annotation.models import Entry, EntryStatus
from config.celery import enqueue_on_commit
from quality import services


def _check_later(entry_id: int) -> None:
    enqueue_on_commit(
        "quality.tasks.entry_check",
        entry_id,
        what=f"the check of entry #{entry_id}; the next rescan runs it",
        on_failure=lambda exc: services.entry_rescan_mark(entry_id=entry_id),
    )


def on_entry_decided(sender, *, decision, **kwargs) -> None:
    """Receiver of annotation.events.entry_decided: an accepted entry is checked and indexed
    again once the decision commits (a reviewer's fix may have changed its text)."""
    if decision.outcome == EntryStatus.ACCEPTED:
        _check_later(decision.entry_id)


def on_entry_submitted(sender, *, entry: Entry, **kwargs) -> None:
    """Receiver of annotation.events.entry_submitted: check the entry once the submit commits."""
    _check_later(entry.pk)
