from django.db.models import Exists, Func, IntegerField, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import JSONObject

from annotation import holds
from annotation.models import Entry, EntryStatus, Outcome
from annotation.selectors import decisions_current
from exports.models import Snapshot, SnapshotStatus
from exports.services.snapshots.options import SnapshotOptions
from exports.services.snapshots.removals import REASONS as REMOVAL_REASONS

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


class _JSONArrayLength(Func):
    """The length of a JSON array; NULL for none."""

    function = "JSON_ARRAY_LENGTH"
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra)


def snapshot_list() -> QuerySet[Snapshot]:
    """Snapshots with what their pages and the API show, without the long lists they keep for
    later builds (the records' digests, the removed ids): `removed_by_reason` counts the removed
    ids by reason, in the database ({"withdrawn": n, "erased": n, "moderated": n}; each None for
    a snapshot built before removals were kept by reason)."""
    return (
        Snapshot.objects.select_related("created_by", "parent", "pinned_by")
        .defer(
            "digest",
            "text_digest",
            "removals",
            "parent__digest",
            "parent__text_digest",
            "parent__removals",
        )
        .annotate(
            removed_by_reason=JSONObject(
                **{
                    reason: _JSONArrayLength(KeyTransform(reason, "removals"))
                    for reason in REMOVAL_REASONS
                }
            )
        )
    )


def snapshot_latest() -> Snapshot | None:
    """The newest ready snapshot of the whole data set (default filters, any split): what a
    trainer fetching "latest" expects, never a subset someone built for a look."""
    for snapshot in snapshot_list().filter(status=SnapshotStatus.READY).order_by("-version"):
        if SnapshotOptions.is_whole_data_set(snapshot.options):
            return snapshot
    return None


def snapshot_parent(*, version: int | None, options: dict) -> Snapshot | None:
    """What a new snapshot is compared with: the newest ready one with the same filters (before
    `version`; None: of all, what the next snapshot with these options would be compared with)."""
    candidates = Snapshot.objects.filter(status=SnapshotStatus.READY)
    if version is not None:
        candidates = candidates.filter(version__lt=version)
    filters = SnapshotOptions.filters_of(options)
    for snapshot in candidates.order_by("-version").only("pk", "options"):
        if SnapshotOptions.filters_of(snapshot.options) == filters:
            return Snapshot.objects.get(pk=snapshot.pk)
    return None
