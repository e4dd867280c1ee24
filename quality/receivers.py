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


def on_person_erased(sender, *, person, entry_ids: list[int], **kwargs) -> None:
    """Receiver of annotation.events.person_erased: the erased entries leave the duplicate
    index at once (an emptied text is nobody's copy and nobody's original), and the clusters
    they were in are settled once the erasure commits, so that a colleague's entry held back
    as a copy of an erased one is released from that flag."""
    if not entry_ids:
        return
    services.fingerprints_drop(entry_ids=entry_ids)
    enqueue_on_commit(
        "quality.tasks.duplicates_settle",
        list(entry_ids),
        what=f"settling the duplicate clusters of {len(entry_ids)} erased entries; the next "
        "rescan does it",
        on_failure=lambda exc: [services.entry_rescan_mark(entry_id=pk) for pk in entry_ids],
    )
