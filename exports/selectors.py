from django.db.models import Exists, OuterRef, Q, QuerySet

from annotation import holds
from annotation.models import Entry, EntryStatus, Outcome
from annotation.selectors import decisions_current
from exports.models import Snapshot, SnapshotStatus
from exports.services.snapshots.options import SnapshotOptions

_WHOLE_DATA_SET = SnapshotOptions()


def exportable_entries(
    *,
    categories: list[str] = _WHOLE_DATA_SET.categories,
    min_approvals: int = _WHOLE_DATA_SET.min_approvals,
    include_imported: bool = _WHOLE_DATA_SET.include_imported,
) -> QuerySet[Entry]:
    """The accepted entries a snapshot with these filters holds, by id.

    Kept out: what annotation/holds.py keeps out (a blocking flag open or confirmed, which
    includes every copy of a duplicate but the one kept). `min_approvals` counts the approvals
    of the round that accepted an entry (by its decision that stands, where a moderator
    overturned one); imported entries were not reviewed here and are governed by
    `include_imported` alone.
    """
    entries = Entry.objects.filter(status=EntryStatus.ACCEPTED).exclude(holds.held_back())
    if categories:
        entries = entries.filter(category__slug__in=list(categories))
    if not include_imported:
        entries = entries.filter(source__isnull=True)
    if min_approvals:
        approved = decisions_current().filter(
            entry=OuterRef("pk"),
            round=OuterRef("review_round"),
            outcome=Outcome.ACCEPTED,
            approvals__gte=min_approvals,
        )
        entries = entries.filter(Q(source__isnull=False) | Exists(approved))
    return entries.order_by("pk")


def snapshot_list() -> QuerySet[Snapshot]:
    return Snapshot.objects.select_related("created_by", "parent").defer("digest", "parent__digest")


def snapshot_latest() -> Snapshot | None:
    """The newest ready snapshot of the whole data set (default filters, any split): what a
    trainer fetching "latest" expects, never a subset someone built for a look."""
    for snapshot in snapshot_list().filter(status=SnapshotStatus.READY).order_by("-version"):
        if SnapshotOptions.is_whole_data_set(snapshot.options):
            return snapshot
    return None


def snapshot_parent(*, version: int, options: dict) -> Snapshot | None:
    """What a new snapshot is compared with: the newest ready one with the same filters."""
    candidates = Snapshot.objects.filter(status=SnapshotStatus.READY, version__lt=version)
    filters = SnapshotOptions.filters_of(options)
    for snapshot in candidates.order_by("-version").only("pk", "options"):
        if SnapshotOptions.filters_of(snapshot.options) == filters:
            return Snapshot.objects.get(pk=snapshot.pk)
    return None
