"""Asking for a snapshot: a new one, a failed one again, the nightly one; queueing its build."""

import logging
import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from config.celery import enqueue_on_commit
from config.errors import ActionForbidden, StateConflict
from exports import selectors
from exports.models import Snapshot, SnapshotOrigin, SnapshotStatus
from exports.roles import is_data_scientist
from exports.services.snapshots.build import LAYOUT, STALE_AFTER
from exports.services.snapshots.diff import exportable_digests
from exports.services.snapshots.options import SnapshotOptions
from exports.services.snapshots.retention import snapshots_prune_skipped
from quality import services as quality

logger = logging.getLogger(__name__)

NOT_QUEUED = (
    "Its build could not be queued: the job queue (the Celery broker) did not answer. "
    "Build it again once it is back."
)


def snapshot_request(
    *,
    user: AbstractBaseUser | None,
    options: dict | None = None,
    request_key: str = "",
    origin: str = SnapshotOrigin.BROWSER,
    start: bool = True,
) -> tuple[Snapshot, bool]:
    """Ask for a new snapshot; (snapshot, created). Asking again with the same key returns the
    first one, so a double click or a retried API call never builds twice. The build starts
    once this commits (a Celery job), unless `start` is false (the command builds it itself)."""
    if user is not None and not is_data_scientist(user):
        raise ActionForbidden("Only data scientists and staff build snapshots.")
    parsed = SnapshotOptions.parse(options)
    key = (request_key or "").strip()
    if len(key) > 100:
        raise ValidationError({"request_key": "Keep the request key to 100 characters."})
    key = f"{user.pk if user is not None else 'system'}:{key or uuid.uuid4().hex}"
    for _attempt in range(5):
        existing = Snapshot.objects.filter(request_key=key).first()
        if existing is not None:
            if existing.options != parsed.as_dict():
                raise StateConflict(
                    f"This request key already asked for snapshot v{existing.version} with "
                    "other options; use a new key for new options."
                )
            return existing, False
        try:
            with transaction.atomic():
                version = (Snapshot.objects.aggregate(top=Max("version"))["top"] or 0) + 1
                snapshot = Snapshot.objects.create(
                    version=version,
                    options=parsed.as_dict(),
                    created_by=user,
                    request_key=key,
                    origin=origin,
                )
        except IntegrityError:  # the same key or the next version taken a moment ago
            continue
        if start:
            snapshot_enqueue(snapshot=snapshot)
        return snapshot, True
    raise StateConflict("Snapshots are being asked for faster than they can be numbered.")


def snapshot_enqueue(*, snapshot: Snapshot) -> None:
    """Start the build job once the current transaction commits; its id is stored now.

    A job that cannot be queued (the broker is down) leaves the snapshot failed, saying so, at
    once: the requester sees why on its page (or in the API's answer) and builds it again
    later, rather than watching a snapshot wait for a job that will never come."""
    job_id = uuid.uuid4().hex  # known now, so the caller can answer with it
    Snapshot.objects.filter(pk=snapshot.pk).update(job_id=job_id)
    snapshot.job_id = job_id

    def not_queued(exc: Exception) -> None:
        Snapshot.objects.filter(pk=snapshot.pk, status=SnapshotStatus.PENDING).update(
            status=SnapshotStatus.FAILED,
            finished_at=timezone.now(),
            error=NOT_QUEUED,
        )

    # By name: no services module imports a tasks module (tasks call services).
    enqueue_on_commit(
        "exports.tasks.snapshot_build",
        snapshot.pk,
        task_id=job_id,
        what=f"the build of snapshot v{snapshot.version}",
        on_failure=not_queued,
    )


def snapshot_retry(*, snapshot: Snapshot, user: AbstractBaseUser) -> Snapshot:
    """Build a failed snapshot again (same version and options), or queue again one whose job
    never started (the broker lost it)."""
    if not is_data_scientist(user):
        raise ActionForbidden("Only data scientists and staff build snapshots.")
    never_started = Q(
        status=SnapshotStatus.PENDING,
        heartbeat_at__isnull=True,
        created_at__lt=timezone.now() - STALE_AFTER,
    )
    updated = (
        Snapshot.objects.filter(pk=snapshot.pk)
        .filter(Q(status=SnapshotStatus.FAILED) | never_started)
        .update(status=SnapshotStatus.PENDING, progress=0, stage="", error="")
    )
    if not updated:
        raise StateConflict(
            "Only a failed snapshot, or one whose job has not started for "
            f"{STALE_AFTER.seconds // 60} minutes, can be built again."
        )
    snapshot.refresh_from_db()
    snapshot_enqueue(snapshot=snapshot)
    return snapshot


@dataclass(frozen=True)
class Nightly:
    """What the nightly job did: asked for `snapshot`, or skipped the day because `unchanged`,
    the newest ready snapshot of the whole data set, already holds exactly these records."""

    snapshot: Snapshot | None = None
    unchanged: Snapshot | None = None

    @property
    def skipped(self) -> bool:
        return self.snapshot is None


def snapshot_nightly() -> Nightly:
    """The scheduled snapshot of the day (default options); running twice a day adds nothing.

    Skipped when nothing it would release changed since the newest ready snapshot of the whole
    data set (whoever built it): the quality rescan runs first, as a build's would, since it can
    change what is exportable; then the records' digest and the metadata's (metadata.parquet's
    rows and the card's attribution: approvals, ratings, source URLs, contests, imported
    sources, pseudonyms), computed by the rows stage's own code, are compared with that
    snapshot's (diff.Exportable.same_as). A snapshot of an older layout (build.LAYOUT: other
    files), or without a stored metadata digest, is never "unchanged"."""
    options = SnapshotOptions()
    quality.quality_rescan()
    last = selectors.snapshot_parent(version=None, options=options.as_dict())
    if (
        last is not None
        and last.layout == LAYOUT
        and exportable_digests(options=options, last=last).same_as(last)
    ):
        logger.info("Nightly snapshot skipped: nothing exportable changed since v%s", last.version)
        snapshots_prune_skipped()  # the files of last night's pruned snapshots go all the same
        return Nightly(unchanged=last)
    snapshot, _ = snapshot_request(
        user=None,
        options={},
        request_key=f"nightly-{timezone.localdate().isoformat()}",
        origin=SnapshotOrigin.SCHEDULE,
    )
    return Nightly(snapshot=snapshot)


def snapshot_waiting() -> Snapshot | None:
    """The oldest snapshot still waiting for a build."""
    return Snapshot.objects.filter(status=SnapshotStatus.PENDING).order_by("version").first()
