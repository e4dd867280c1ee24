"""The quality app's receivers of annotation's events (connected in QualityConfig.ready): each
defers its check to a Celery task that runs once the caller's transaction commits."""

from django.db import transaction

from annotation.models import Entry, EntryStatus
from quality import tasks


def on_entry_decided(sender, *, decision, **kwargs) -> None:
    """Receiver of annotation.events.entry_decided: an accepted entry is checked and indexed
    again once the decision commits (a reviewer's fix may have changed its text)."""
    if decision.outcome == EntryStatus.ACCEPTED:
        entry_id = decision.entry_id
        transaction.on_commit(lambda: tasks.entry_check.delay(entry_id))


def on_entry_submitted(sender, *, entry: Entry, **kwargs) -> None:
    """Receiver of annotation.events.entry_submitted: check the entry once the submit commits."""
    transaction.on_commit(lambda: tasks.entry_check.delay(entry.pk))
