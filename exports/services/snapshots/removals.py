"""The removals stage: why each record the parent held is gone from a snapshot, and the card's
changelog of removals since the first release of its line (the snapshots with its filters).

Three reasons. `withdrawn` and `erased` are the entry's ReleaseRemoval (annotation/holds.py keeps
those entries out for good). Every other removal is `moderated`: a moderator overturned or
reopened the entry's acceptance, or a blocking flag now holds it back (raised by hand, or by a
quality check: a duplicate, licensing, personal data, AI-like text, a reference question).
"""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from annotation.models import ReleaseRemoval, RemovalReason
from exports.models import Snapshot, SnapshotStatus
from exports.services.snapshots.options import SnapshotOptions

MODERATED = "moderated"
REASONS = (RemovalReason.WITHDRAWN.value, RemovalReason.ERASED.value, MODERATED)
# Ids per query: far below every database's limit on bound parameters.
_LOOKUP_CHUNK = 5_000


def removals_classify(*, removed: list[int]) -> dict[str, list[int]]:
    """The removed entry ids by reason: {"withdrawn": [...], "erased": [...], "moderated":
    [...]}, every key present, each list sorted."""
    reasons: dict[int, str] = {}
    ids = sorted(removed)
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        reasons.update(
            ReleaseRemoval.objects.filter(
                entry_id__in=ids[start : start + _LOOKUP_CHUNK]
            ).values_list("entry_id", "reason")
        )
    classed: dict[str, list[int]] = {reason: [] for reason in REASONS}
    for entry_id in ids:
        classed[reasons.get(entry_id, MODERATED)].append(entry_id)
    return classed


@dataclass(frozen=True)
class ChangelogRow:
    version: int
    date: date | None
    withdrawn: int | None  # None: built before removals were classed (only `total` is known)
    erased: int | None
    moderated: int | None
    total: int


def removals_changelog(*, snapshot: Snapshot, removals: dict[str, list[int]]) -> list[ChangelogRow]:
    """One row per version of this snapshot's line, up to it, that removed something, oldest
    first: its earlier ready or pruned snapshots with the same filters (a pruned one's row keeps
    its removals), then this one with `removals` (its row does not hold them yet)."""
    filters = SnapshotOptions.filters_of(snapshot.options)
    earlier = (
        Snapshot.objects.filter(
            status__in=[SnapshotStatus.READY, SnapshotStatus.PRUNED], version__lt=snapshot.version
        )
        .order_by("version")
        .values_list("version", "options", "started_at", "changes", "removals")
    )
    rows = [
        row
        for version, options, started_at, changes, removed in earlier
        if SnapshotOptions.filters_of(options) == filters
        and (row := _row(version, started_at, removed, changes))
    ]
    own = _row(snapshot.version, snapshot.started_at, removals, {})
    return [*rows, own] if own else rows


def _row(version, started_at, removals: dict, changes: dict) -> ChangelogRow | None:
    if removals:
        counts = {reason: len(removals.get(reason, [])) for reason in REASONS}
        total = sum(counts.values())
    else:  # an older snapshot: its row counts what it removed, not why
        counts = dict.fromkeys(REASONS)
        total = changes.get("removed", 0)
    if not total:
        return None
    return ChangelogRow(
        version=version,
        date=timezone.localdate(started_at) if started_at else None,
        withdrawn=counts["withdrawn"],
        erased=counts["erased"],
        moderated=counts[MODERATED],
        total=total,
    )
