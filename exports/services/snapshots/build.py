"""Building a snapshot (the Celery job, or the command in its own process): claim it, run the
stages in order (options, rows, statistics, diff, card, manifest, archive; each module of this
package says what its stage writes), store the files, mark the snapshot ready.

Anything that fails on the way removes what this attempt stored and marks the snapshot `failed`,
so no half snapshot is ever offered, and the same snapshot can be built again.
"""

import contextlib
import gc
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.errors import StateConflict
from exports import selectors
from exports.models import Snapshot, SnapshotStatus
from exports.services.snapshots.archive import archive_write
from exports.services.snapshots.card import card_write
from exports.services.snapshots.diff import METADATA_DIGEST, changes_find, digest_pack
from exports.services.snapshots.files import (
    Spooled,
    snapshot_storage,
    spool_path,
    spool_reset,
    spools_clear,
    storage_clear,
)
from exports.services.snapshots.manifest import manifest_write
from exports.services.snapshots.options import SnapshotOptions
from exports.services.snapshots.parent import ParentMismatch, ParentRecords
from exports.services.snapshots.removals import removals_classify
from exports.services.snapshots.retention import snapshots_prune_after
from exports.services.snapshots.rows import rows_write
from exports.services.snapshots.statistics import category_counts, stats_gather
from quality import services as quality

logger = logging.getLogger(__name__)

# The build job's time limit (a soft limit a minute earlier lets it clean up and say so).
BUILD_TIME_LIMIT = 60 * 60
# A build whose heartbeat has not moved for this long lost its worker (a killed process, a
# machine gone): the reaper marks it failed, and its own job, which the broker hands out again,
# builds it again. The number is FLOCK_SNAPSHOT_STALE_SECONDS, which the broker's visibility
# timeout shares (config/settings.py).
STALE_AFTER = timedelta(seconds=settings.FLOCK_SNAPSHOT_STALE_SECONDS)
# A running build beats this often, whatever its stage is doing (a long rescan reports nothing).
HEARTBEAT_EVERY = STALE_AFTER / 5
INTERRUPTED = "The build was interrupted (its worker stopped beating); build it again."
# Which set of files a build writes, stored on each snapshot (Snapshot.layout). 1: JSONL, card,
# manifest and tar; 2: also the Hugging Face layout (data/*.parquet), metadata.parquet and the
# gzipped tar. Raise it whenever a build writes other files, other bytes for the same record
# (dolly.dolly_record, parquet.RECORD_SCHEMA, the metadata's lengths), or the card or manifest
# templates change what they say: a build copies records only from a parent of its own layout
# (parent.py), and the nightly job never skips a build ("nothing changed") over a parent of an
# older layout.
LAYOUT = 2
# Progress: the rescans take the first 60%, writing the rows most of the rest.
PROGRESS_RESCAN, PROGRESS_LICENCES, PROGRESS_WRITE, PROGRESS_STORE = 2, 20, 60, 95


class SnapshotBusy(StateConflict):
    """Another snapshot is being built; builds run one at a time."""


def snapshot_build(
    *,
    snapshot_id: int,
    rescan: bool = True,
    on_progress: Callable[[int, str], None] | None = None,
    job_id: str = "",
) -> Snapshot:
    """Build the snapshot (the job). Returns it ready, or failed with its error.

    Does nothing to a snapshot that is ready, or that another job is building. Raises
    SnapshotBusy while a different snapshot is being built, or while this snapshot's own job,
    redelivered after its worker died, waits for the lost attempt's heartbeat to go stale (the
    job tries again later).
    """
    snapshot = _claim(snapshot_id, job_id)
    if snapshot is None:
        return Snapshot.objects.get(pk=snapshot_id)
    report = _Reporter(snapshot, on_progress)
    # Each attempt spools apart: a lost attempt that wakes up cannot touch this one's files.
    spool = spool_path(snapshot.directory, snapshot.attempts)
    storage = snapshot_storage()
    stored: list[str] = []
    heartbeat = _Heartbeat(snapshot)
    heartbeat.start()
    try:
        # This build holds the one building place: what other spools hold is a dead build's.
        spools_clear(keep=spool)
        options = SnapshotOptions.parse(snapshot.options)
        if rescan:
            report(PROGRESS_RESCAN, "Grouping duplicates")
            span = PROGRESS_WRITE - PROGRESS_LICENCES
            # What changed since the last rescan (nightly or the last build), not everything.
            quality.quality_rescan(
                on_licensing_chunk=lambda done, total: report(
                    PROGRESS_LICENCES + span * done // max(total, 1),
                    f"Checking licences: {done:,} of {total:,} entries",
                )
            )
        spool_reset(spool)
        storage_clear(storage, snapshot.directory)
        with _collector_paused():
            built = _stages(snapshot, options, spool, report)
        report(PROGRESS_STORE, "Storing files")
        # The files, then the gzipped tar of them all (none of the files: see archive.py).
        for item in [*built.files, built.archive_gz]:
            name = f"{snapshot.directory}/{item['name']}"
            with open(spool / item["name"], "rb") as handle:
                saved = storage.save(name, Spooled(handle))
            stored.append(saved)
            if saved != name:
                raise OSError(f"The storage kept {item['name']} as {saved}.")
        with transaction.atomic():
            updated = _ours(snapshot).update(
                status=SnapshotStatus.READY,
                layout=LAYOUT,
                progress=100,
                stage="",
                finished_at=timezone.now(),
                parent=built.parent,
                record_count=built.record_count,
                category_counts=built.category_counts,
                files=built.files,
                archive=built.archive,
                archive_gz=built.archive_gz,
                stats=built.stats,
                changes=built.changes,
                removals=built.removals,
                digest=built.digest,
                text_digest=built.text_digest,
            )
            if not updated:
                raise StateConflict("The build was taken over by another attempt.")
    except Exception as exc:
        logger.exception("Snapshot v%s failed", snapshot.version)
        if _ours(snapshot).exists():  # never remove the files of an attempt that took over
            for name in stored:
                try:
                    storage.delete(name)
                except Exception:
                    logger.exception("Could not remove %s", name)
        _ours(snapshot).update(
            status=SnapshotStatus.FAILED,
            stage="",
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2_000],
        )
    finally:
        heartbeat.stop()
        shutil.rmtree(spool, ignore_errors=True)
    snapshot.refresh_from_db()
    snapshots_prune_after(snapshot)  # a nightly's retention rule (never fails the build)
    return snapshot


def snapshots_reap() -> list[Snapshot]:
    """Mark failed the builds that stopped beating (beat runs this every minute): a worker
    killed mid-build leaves its snapshot "running", holding the one building place, until then.
    Its partial spool files on this machine go too. Its job, handed out again by the broker
    (task_reject_on_worker_lost, or the visibility timeout when the whole worker died), builds
    it again; otherwise "Build again" does. Returns the snapshots marked failed."""
    reaped = _stale_fail()
    for snapshot in reaped:
        logger.warning(
            "Snapshot v%s: its build stopped beating at %s; marked failed",
            snapshot.version,
            snapshot.heartbeat_at,
        )
        shutil.rmtree(spool_path(snapshot.directory, snapshot.attempts), ignore_errors=True)
    return reaped


def _stale_fail(*, exclude: int | None = None) -> list[Snapshot]:
    """Mark failed, finished now, the running builds whose heartbeat is older than STALE_AFTER
    (the staleness rule, here only); each attempt only once, even with a reaper and a claim
    at it together."""
    now = timezone.now()
    stale = Snapshot.objects.filter(
        status=SnapshotStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    ).exclude(pk=exclude)
    failed = []
    for snapshot in stale:
        if (
            _ours(snapshot)
            .filter(heartbeat_at__lt=now - STALE_AFTER)
            .update(status=SnapshotStatus.FAILED, stage="", finished_at=now, error=INTERRUPTED)
        ):
            failed.append(snapshot)
    return failed


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector paused while the stages run: streaming the rows makes millions
    of short-lived tuples and lists (rows, columns, metadata values) and no reference cycles,
    so each of the collector's many passes over the young objects found nothing to free, and
    its full passes walked every long-lived one (a build at 150,000 records spent 0.6 s of its
    rows stage in 749 passes that collected 0 objects). Memory is freed by reference counting
    as before; the collector resumes afterwards, however the stages ended. The pause is the
    process's: a worker builds one snapshot at a time (prefork); with tasks run in-process (no
    broker, the development set-up) the server's other requests share it for the build."""
    was = gc.isenabled()
    try:
        gc.disable()
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class _Built:
    parent: Snapshot | None
    record_count: int
    category_counts: dict
    files: list[dict]
    archive: dict
    archive_gz: dict
    stats: dict
    changes: dict
    removals: dict
    digest: bytes
    text_digest: bytes


def _stages(
    snapshot: Snapshot, options: SnapshotOptions, spool: Path, report: "_Reporter"
) -> _Built:
    """The stages after the options, in order, each writing into the spool or the row."""
    # The stored options, as the parent's row stores its own.
    parent = selectors.snapshot_parent(version=snapshot.version, options=snapshot.options)
    files, tally = _rows(snapshot, options, parent, spool, report)
    record_count = len(tally.ids)
    counts = category_counts(tally=tally)
    stats = stats_gather(tally=tally, category_counts=counts)
    stats[METADATA_DIGEST] = tally.metadata_digest  # the nightly job's skip compares it
    digest, text_digest = digest_pack(tally=tally)
    changes = changes_find(digest=digest, parent_digest=parent.digest if parent else None)
    removals = removals_classify(removed=changes["removed"])
    card = card_write(
        snapshot=snapshot,
        options=options,
        record_count=record_count,
        category_counts=counts,
        stats=stats,
        split_counts=dict(tally.split_counts),
        files=list(files),
        file_records=tally.file_records,
        removals=removals,
        spool=spool,
    )
    files.append(card)
    manifest = manifest_write(
        snapshot=snapshot,
        options=options,
        parent=parent,
        record_count=record_count,
        category_counts=counts,
        files=list(files),
        changes=changes,
        removals=removals,
        spool=spool,
    )
    files.append(manifest)
    archive, archive_gz = archive_write(snapshot=snapshot, spool=spool, files=files)
    return _Built(
        parent=parent,
        record_count=record_count,
        category_counts=counts,
        files=files,
        archive=archive,
        archive_gz=archive_gz,
        stats=stats,
        changes={key: len(ids) for key, ids in changes.items()},
        removals=removals,
        digest=digest,
        text_digest=text_digest,
    )


def _rows(
    snapshot: Snapshot,
    options: SnapshotOptions,
    parent: Snapshot | None,
    spool: Path,
    report: "_Reporter",
):
    """The rows stage: the records whose text is the parent's copied from its files (a parent
    of this layout), the others read from the database; all of them read from the database
    when the parent's files are not what it stored (they are checked as they are read)."""
    entries = selectors.exportable_entries(**options.filters)
    total = entries.count()
    records = None
    if parent is not None and parent.layout == LAYOUT:
        records = ParentRecords.of(parent, files=True)
    if records is not None:
        try:
            return rows_write(
                entries=entries,
                validation_percent=options.validation_percent,
                spool=spool,
                on_rows=_progress_step(report, total),
                parent=records,
            )
        except ParentMismatch as exc:
            logger.warning(
                "Snapshot v%s: v%s's files are not what it stored (%s); every record is read "
                "from the database",
                snapshot.version,
                parent.version,
                exc,
            )
            spool_reset(spool)
        finally:
            records.close()
    return rows_write(
        entries=entries,
        validation_percent=options.validation_percent,
        spool=spool,
        on_rows=_progress_step(report, total),
    )


def _ours(snapshot: Snapshot):
    """The snapshot's row while this attempt still owns it."""
    return Snapshot.objects.filter(
        pk=snapshot.pk, status=SnapshotStatus.RUNNING, attempts=snapshot.attempts
    )


def _claim(snapshot_id: int, job_id: str = "") -> Snapshot | None:
    """Mark the snapshot running for this attempt; None if there is nothing for it to do."""
    stale_before = timezone.now() - STALE_AFTER
    try:
        with transaction.atomic():
            # A build whose worker died holds the one "running" place: free it.
            _stale_fail(exclude=snapshot_id)
            snapshot = Snapshot.objects.select_for_update().get(pk=snapshot_id)
            if snapshot.status in (SnapshotStatus.READY, SnapshotStatus.PRUNED):
                return None
            if snapshot.status == SnapshotStatus.RUNNING and snapshot.heartbeat_at >= stale_before:
                if job_id and job_id == snapshot.job_id:  # redelivered: wait for it to go stale
                    raise SnapshotBusy("The last attempt at this snapshot may still be running.")
                return None
            now = timezone.now()
            snapshot.status = SnapshotStatus.RUNNING
            snapshot.progress = 0
            snapshot.error = ""
            snapshot.started_at = snapshot.heartbeat_at = now
            snapshot.finished_at = None
            snapshot.attempts += 1
            snapshot.save(
                update_fields=[
                    "status",
                    "progress",
                    "error",
                    "started_at",
                    "heartbeat_at",
                    "finished_at",
                    "attempts",
                ]
            )
    except IntegrityError:
        raise SnapshotBusy("Another snapshot is being built; this one waits its turn.") from None
    return snapshot


class _Heartbeat(threading.Thread):
    """Writes the build's heartbeat every HEARTBEAT_EVERY while the build runs, on a connection
    of its own, so that a heartbeat stops only when the build's process does."""

    def __init__(self, snapshot: Snapshot):
        super().__init__(name=f"snapshot-{snapshot.version}-heartbeat", daemon=True)
        self.snapshot = snapshot
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self._sleep(HEARTBEAT_EVERY.total_seconds()):
                try:
                    _ours(self.snapshot).update(heartbeat_at=timezone.now())
                except Exception:
                    logger.exception("Snapshot v%s: could not beat", self.snapshot.version)
        finally:
            connection.close()  # this thread's own

    def _sleep(self, seconds: float) -> bool:
        """Wait `seconds`, in short sleeps; True as soon as the build stopped. (Not
        Event.wait(timeout): under libfaketime, which CI runs the suite under, a timed wait may
        never run out, and the build would never beat.)"""
        deadline = time.monotonic() + seconds
        while not self.stopped.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, 0.2))
        return True

    def stop(self) -> None:
        self.stopped.set()
        self.join()


class _Reporter:
    """Progress goes to the snapshot's row (the pages and API poll it) and to a caller's hook."""

    def __init__(self, snapshot: Snapshot, hook: Callable[[int, str], None] | None):
        self.snapshot = snapshot
        self.hook = hook

    def __call__(self, progress: int, stage: str) -> None:
        _ours(self.snapshot).update(progress=progress, stage=stage, heartbeat_at=timezone.now())
        if self.hook:
            self.hook(progress, stage)


def _progress_step(report: _Reporter, total: int) -> Callable[[int], None]:
    """Report writing progress at most once per percent."""
    last = [-1]

    def step(done: int) -> None:
        span = PROGRESS_STORE - PROGRESS_WRITE
        percent = PROGRESS_WRITE + (span * done // total if total else span)
        if percent != last[0]:
            last[0] = percent
            report(min(percent, PROGRESS_STORE), f"Writing {done:,} of {total:,} records")

    step(0)
    return step
