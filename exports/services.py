import logging

from django.db import transaction

from annotation import services as annotation
from annotation.models import Entry, EntryStatus, Flag
from exports.quality.checks import licensing_findings

logger = logging.getLogger(__name__)

CHECKED_STATUSES = (EntryStatus.SUBMITTED, EntryStatus.ACCEPTED)


def entry_check(*, entry: Entry) -> list[Flag]:
    """Run the licensing and provenance checks on one entry and flag what they find.

    Idempotent: a finding already flagged (open, confirmed or dismissed) is not flagged again.
    Returns the flags raised by this run.
    """
    raised = []
    with transaction.atomic():
        for finding in licensing_findings(entry):
            flag, created = annotation.flag_raise(
                entry=entry,
                kind=finding.kind,
                evidence=finding.evidence,
                evidence_key=finding.evidence_key,
                blocking=finding.blocking,
            )
            if created:
                raised.append(flag)
    if raised:
        logger.info("Entry #%s: %d new flag(s)", entry.pk, len(raised))
    return raised


def entries_check_all() -> int:
    """Re-run the checks on every submitted and accepted entry (nightly and before exports)."""
    raised = 0
    entries = Entry.objects.filter(status__in=CHECKED_STATUSES).order_by("pk")
    for entry in entries.iterator(chunk_size=2000):
        raised += len(entry_check(entry=entry))
    return raised


def on_entry_submitted(sender, *, entry: Entry, **kwargs) -> None:
    """Receiver of annotation.events.entry_submitted: check the entry once the submit commits."""
    from exports import tasks

    transaction.on_commit(lambda: tasks.entry_check.delay(entry.pk))
