"""Export snapshots: ask for one, build it (a Celery job), retry a failed one.

A build runs the duplicate and licensing rescans, then streams the exportable entries from the
database (a server-side cursor on PostgreSQL, 2,000 rows at a time) into spool files on local
disk, hashing as it writes. Only when every file is complete are they moved into the snapshot
storage (a rename on local disk) and, last, the row records their checksums and turns `ready`.
Anything that fails on the way removes what this attempt stored and marks the snapshot `failed`,
so no half snapshot is ever offered, and the same snapshot can be built again.
"""

import hashlib
import json
import logging
import shutil
import uuid
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.template.loader import render_to_string
from django.utils import timezone

from annotation import holds
from annotation.models import Category, Source
from config.celery import registered_task
from config.errors import ActionForbidden, StateConflict
from exports import dolly, selectors
from exports.models import Snapshot, SnapshotOrigin, SnapshotStatus
from exports.roles import is_data_scientist
from quality import services as quality

logger = logging.getLogger(__name__)

CHUNK_ROWS = 2_000
# The build job's time limit (a soft limit a minute earlier lets it clean up and say so).
BUILD_TIME_LIMIT = 60 * 60
# A build whose progress has not moved for this long lost its worker (a killed process, a
# machine gone): it is marked failed, or taken over by its own job when the broker redelivers it.
STALE_AFTER = timedelta(minutes=10)
MAX_MIN_APPROVALS = 20
MAX_VALIDATION_PERCENT = 50
DATA_FILE = "data.jsonl"
TRAIN_FILE = "train.jsonl"
VALIDATION_FILE = "validation.jsonl"
CARD_FILE = "README.md"
MANIFEST_FILE = "manifest.json"
# Progress: the rescans take the first 60%, writing the rows most of the rest.
PROGRESS_RESCAN, PROGRESS_LICENCES, PROGRESS_WRITE, PROGRESS_STORE = 2, 20, 60, 95


class SnapshotBusy(StateConflict):
    """Another snapshot is being built; builds run one at a time."""


def snapshot_storage():
    return storages["snapshots"]


# --- Options ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotOptions:
    categories: list[str] = field(default_factory=list)  # empty: every category
    min_approvals: int = 0
    include_imported: bool = True
    validation_percent: float = 0  # 0: no split

    @classmethod
    def parse(cls, data: dict | None) -> "SnapshotOptions":
        """Options from a form, the API or the command line; ValidationError names each bad one."""
        data = data or {}
        errors: dict[str, str] = {}
        known = dict(Category.objects.values_list("slug", "name"))
        categories = data.get("categories") or []
        if isinstance(categories, str):
            categories = [c for c in categories.replace(",", " ").split() if c]
        if not isinstance(categories, list | tuple) or not all(
            isinstance(c, str) for c in categories
        ):
            errors["categories"] = "Give a list of category slugs."
            categories = []
        unknown = sorted(set(categories) - set(known))
        if unknown:
            errors["categories"] = f"Unknown categories: {', '.join(unknown)}."
        min_approvals = _number(data.get("min_approvals", 0), int)
        if min_approvals is None or not 0 <= min_approvals <= MAX_MIN_APPROVALS:
            errors["min_approvals"] = f"A whole number from 0 to {MAX_MIN_APPROVALS}."
        include_imported = data.get("include_imported", True)
        if isinstance(include_imported, str):
            include_imported = {
                "true": True,
                "on": True,
                "1": True,
                "false": False,
                "0": False,
            }.get(include_imported.strip().lower(), include_imported)
        if not isinstance(include_imported, bool):
            errors["include_imported"] = "true or false."
        percent = _number(data.get("validation_percent", 0), float)
        if percent is None or not 0 <= percent <= MAX_VALIDATION_PERCENT:
            errors["validation_percent"] = f"A percentage from 0 to {MAX_VALIDATION_PERCENT}."
        if errors:
            raise ValidationError(errors)
        return cls(
            categories=sorted(set(categories)),
            min_approvals=min_approvals,
            include_imported=include_imported,
            validation_percent=round(percent, 2),
        )

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def filters(self) -> dict:
        return selectors.snapshot_filters(self.as_dict())


def _number(value, kind):
    if isinstance(value, bool):
        return None
    if value in (None, ""):
        return kind(0)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        return None
    if kind is int and isinstance(value, float) and number != value:
        return None
    return number


# --- Asking for one ---------------------------------------------------------------------------


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
    """Start the build job once the current transaction commits; its id is stored now."""
    job_id = uuid.uuid4().hex  # known now, so the caller can answer with it
    Snapshot.objects.filter(pk=snapshot.pk).update(job_id=job_id)
    snapshot.job_id = job_id

    def send():
        try:
            registered_task("exports.tasks.snapshot_build").apply_async(
                (snapshot.pk,), task_id=job_id
            )
        except Exception as exc:  # the broker is down: say so; "Build again" tries later
            logger.exception("Could not queue snapshot v%s", snapshot.version)
            Snapshot.objects.filter(pk=snapshot.pk, status=SnapshotStatus.PENDING).update(
                status=SnapshotStatus.FAILED, error=f"The job could not be queued: {exc}"[:2_000]
            )

    transaction.on_commit(send)


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


def snapshot_nightly() -> Snapshot:
    """The scheduled snapshot of the day (default options); running twice a day adds nothing."""
    snapshot, _ = snapshot_request(
        user=None,
        options={},
        request_key=f"nightly-{timezone.localdate().isoformat()}",
        origin=SnapshotOrigin.SCHEDULE,
    )
    return snapshot


def snapshot_waiting() -> Snapshot | None:
    """The oldest snapshot still waiting for a build."""
    return Snapshot.objects.filter(status=SnapshotStatus.PENDING).order_by("version").first()


# --- Building ---------------------------------------------------------------------------------


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
    spool = Path(settings.FLOCK_SNAPSHOT_SPOOL_DIR) / f"{snapshot.directory}-{snapshot.attempts}"
    storage = snapshot_storage()
    stored: list[str] = []
    try:
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
        shutil.rmtree(spool, ignore_errors=True)
        spool.mkdir(parents=True)
        _storage_clear(storage, snapshot.directory)
        built = _write(snapshot, options, spool, report)
        report(PROGRESS_STORE, "Storing files")
        for item in built.files:
            name = f"{snapshot.directory}/{item['name']}"
            with open(spool / item["name"], "rb") as handle:
                saved = storage.save(name, _Spooled(handle))
            stored.append(saved)
            if saved != name:
                raise OSError(f"The storage kept {item['name']} as {saved}.")
        with transaction.atomic():
            updated = _ours(snapshot).update(
                status=SnapshotStatus.READY,
                progress=100,
                stage="",
                finished_at=timezone.now(),
                parent=built.parent,
                record_count=built.record_count,
                category_counts=built.category_counts,
                files=built.files,
                archive=built.archive,
                stats=built.stats,
                changes=built.changes,
                digest=built.digest,
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
        shutil.rmtree(spool, ignore_errors=True)
    snapshot.refresh_from_db()
    return snapshot


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
            Snapshot.objects.filter(
                status=SnapshotStatus.RUNNING, heartbeat_at__lt=stale_before
            ).exclude(pk=snapshot_id).update(
                status=SnapshotStatus.FAILED,
                stage="",
                error="The build was interrupted (its worker stopped); build it again.",
            )
            snapshot = Snapshot.objects.select_for_update().get(pk=snapshot_id)
            if snapshot.status == SnapshotStatus.READY:
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


class _Reporter:
    """Progress goes to the snapshot's row (the pages and API poll it) and to a caller's hook."""

    def __init__(self, snapshot: Snapshot, hook: Callable[[int, str], None] | None):
        self.snapshot = snapshot
        self.hook = hook

    def __call__(self, progress: int, stage: str) -> None:
        _ours(self.snapshot).update(progress=progress, stage=stage, heartbeat_at=timezone.now())
        if self.hook:
            self.hook(progress, stage)


def _storage_clear(storage, directory: str) -> None:
    """Remove what an interrupted attempt left in the snapshot's directory."""
    try:
        _folders, names = storage.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        storage.delete(f"{directory}/{name}")


class _Spooled(File):
    """A finished spool file: FileSystemStorage renames it into place instead of copying it."""

    def temporary_file_path(self) -> str:
        return self.file.name


class _HashingFile:
    """A spool file that hashes and counts what is written to it."""

    def __init__(self, path: Path):
        self.handle = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 (closed in finish)
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def finish(self, name: str) -> dict:
        self.handle.close()
        return {"name": name, "size": self.size, "sha256": self.sha256.hexdigest()}


@dataclass
class _Built:
    parent: Snapshot | None
    record_count: int
    category_counts: dict
    files: list[dict]
    archive: dict
    stats: dict
    changes: dict
    digest: bytes


@dataclass
class _Tally:
    """What the card, the manifest and the pictures say about the rows, gathered as they stream."""

    ids: array = field(default_factory=lambda: array("q"))
    digests: bytearray = field(default_factory=bytearray)
    categories: array = field(default_factory=lambda: array("H"))
    lengths: dict = field(default_factory=lambda: {name: array("I") for name in dolly.FIELDS[:3]})
    authors: set = field(default_factory=set)
    sources: Counter = field(default_factory=Counter)
    passage_hosts: Counter = field(default_factory=Counter)
    split_counts: Counter = field(default_factory=Counter)


def _write(snapshot: Snapshot, options: SnapshotOptions, spool: Path, report: _Reporter) -> _Built:
    entries = selectors.exportable_entries(**options.filters)
    total = entries.count()
    split = options.validation_percent > 0
    names = [DATA_FILE, *([TRAIN_FILE, VALIDATION_FILE] if split else [])]
    writers = {name: _HashingFile(spool / name) for name in names}
    try:
        return _write_rows(snapshot, options, spool, entries, writers, report, total)
    finally:  # the spool files close however the stream ends
        for writer in writers.values():
            writer.handle.close()


def _write_rows(snapshot, options, spool, entries, writers, report, total) -> _Built:
    """Stream the rows into the spool files, then write the card and the manifest."""
    names = list(writers)
    split = len(names) > 1
    slugs: list[str] = []
    slug_index: dict[str, int] = {}
    tally = _Tally()
    domain_of = _DomainOf(settings.FLOCK_ALLOWED_SOURCE_DOMAINS)
    step = _progress_step(report, total)
    percent = options.validation_percent
    done = 0
    for chunk in selectors.export_rows(entries=entries, chunk_size=CHUNK_ROWS):
        records, train, validation = [], [], []
        for pk, author, source, slug, i_len, c_len, r_len, url, record in chunk:
            records.append(record)
            tally.digests += dolly.record_digest(record)
            tally.ids.append(pk)
            if slug not in slug_index:
                slug_index[slug] = len(slugs)
                slugs.append(slug)
            tally.categories.append(slug_index[slug])
            tally.lengths["instruction"].append(i_len)
            tally.lengths["context"].append(c_len)
            tally.lengths["response"].append(r_len)
            if source:
                tally.sources[source] += 1
            else:
                tally.authors.add(author)
                if c_len:
                    tally.passage_hosts[domain_of(url)] += 1
            if split:
                (validation if dolly.in_validation(pk, percent) else train).append(record)
        writers[DATA_FILE].write(_lines(records))
        if split:
            writers[TRAIN_FILE].write(_lines(train))
            writers[VALIDATION_FILE].write(_lines(validation))
            tally.split_counts["train"] += len(train)
            tally.split_counts["validation"] += len(validation)
        done += len(chunk)
        step(done)
    files = [writers[name].finish(name) for name in names]

    parent = selectors.snapshot_parent(version=snapshot.version, options=snapshot.options)
    order = np.argsort(np.frombuffer(tally.ids, dtype=np.int64), kind="stable")
    digest = _digest_pack(tally, order)
    changes = _changes(digest, parent.digest if parent else None)
    per_category = Counter({slugs[i]: n for i, n in Counter(tally.categories).items()})
    category_counts = {slug: per_category[slug] for slug in _category_order(per_category)}
    stats = _stats(tally, slugs, category_counts)
    record_count = len(tally.ids)
    context = {
        "snapshot": snapshot,
        "options": options,
        "record_count": record_count,
        "category_counts": category_counts,
        "stats": stats,
        "split_counts": dict(tally.split_counts),
        "settings": settings,
        "size_category": dolly.size_category(record_count),
        "task_categories": _task_categories(category_counts),
        "files": files,
        "held_back_rule": holds.RULE_TEXT,
    }
    card = render_to_string("exports/dataset_card.md", context).encode()
    (spool / CARD_FILE).write_bytes(card)
    files.append(_described(spool / CARD_FILE, CARD_FILE))
    manifest = _manifest(snapshot, options, parent, record_count, category_counts, files, changes)
    (spool / MANIFEST_FILE).write_bytes(manifest)
    files.append(_described(spool / MANIFEST_FILE, MANIFEST_FILE))
    return _Built(
        parent=parent,
        record_count=record_count,
        category_counts=category_counts,
        files=files,
        archive=_archive(snapshot, spool, files),
        stats=stats,
        changes={key: len(ids) for key, ids in changes.items()},
        digest=digest,
    )


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


def _lines(records: list[bytes]) -> bytes:
    return b"\n".join(records) + b"\n" if records else b""


class _DomainOf:
    """The allowed domain a source URL's host belongs to (or the host), remembered per host."""

    def __init__(self, domains: list[str]):
        self.domains = domains
        self.known: dict[bytes, str] = {}

    def __call__(self, url: bytes) -> str:
        host = url.partition(b"://")[2].partition(b"/")[0].rpartition(b"@")[2]
        host = host.rpartition(b":")[0] if host.count(b":") == 1 else host
        domain = self.known.get(host)
        if domain is None:
            domain = self.known[host] = self._domain(host.decode(errors="replace").lower())
        return domain

    def _domain(self, host: str) -> str:
        for domain in self.domains:
            if host == domain or host.endswith(f".{domain}"):
                return domain
        return host or "no source URL"


def _category_order(counts: Counter) -> list[str]:
    positions = {slug: n for n, slug in enumerate(Category.objects.values_list("slug", flat=True))}
    return sorted(counts, key=lambda slug: (positions.get(slug, len(positions)), slug))


DIGEST_DTYPE = np.dtype([("id", "<i8"), ("digest", "S8")])  # dolly.record_digest, as bytes


def _digest_pack(tally: _Tally, order: np.ndarray) -> bytes:
    packed = np.empty(len(tally.ids), dtype=DIGEST_DTYPE)
    packed["id"] = np.frombuffer(tally.ids, dtype=np.int64)
    packed["digest"] = np.frombuffer(bytes(tally.digests), dtype="S8")
    return packed[order].tobytes()


def _changes(digest: bytes, parent_digest: bytes | None) -> dict[str, list[int]]:
    """Entries added, removed and changed (their exported record differs) since the parent."""
    new = np.frombuffer(digest, dtype=DIGEST_DTYPE)
    if parent_digest is None:
        return {"added": new["id"].tolist(), "removed": [], "changed": []}
    old = np.frombuffer(bytes(parent_digest), dtype=DIGEST_DTYPE)
    _common, in_new, in_old = np.intersect1d(
        new["id"], old["id"], assume_unique=True, return_indices=True
    )
    changed = new["id"][in_new][new["digest"][in_new] != old["digest"][in_old]]
    return {
        "added": np.setdiff1d(new["id"], old["id"], assume_unique=True).tolist(),
        "removed": np.setdiff1d(old["id"], new["id"], assume_unique=True).tolist(),
        "changed": np.sort(changed).tolist(),
    }


def _summary(values: np.ndarray) -> dict:
    if not len(values):
        return {"count": 0, "mean": 0, "median": 0, "p90": 0, "max": 0}
    return {
        "count": len(values),
        "mean": round(float(values.mean()), 1),
        "median": int(np.median(values)),
        "p90": int(np.percentile(values, 90)),
        "max": int(values.max()),
    }


def _stats(tally: _Tally, slugs: list[str], category_counts: dict) -> dict:
    """Length distributions (characters) per field and per category, for the card and pictures."""
    lengths = {
        name: np.frombuffer(values, dtype=np.uint32) for name, values in tally.lengths.items()
    }
    categories = np.frombuffer(tally.categories, dtype=np.uint16)
    bins = [*dolly.LENGTH_BINS, np.iinfo(np.uint32).max]
    fields = {}
    for name, values in lengths.items():
        present = values[values > 0] if name == "context" else values
        fields[name] = {
            **_summary(present),
            "histogram": np.histogram(present, bins=bins)[0].tolist(),
        }
    by_category = {}
    for slug in category_counts:
        mask = categories == slugs.index(slug)
        by_category[slug] = {
            "count": int(mask.sum()),
            "with_context": int((lengths["context"][mask] > 0).sum()),
            **{f"{name}_median": _summary(lengths[name][mask])["median"] for name in lengths},
        }
    sources = Source.objects.in_bulk(list(tally.sources))
    return {
        "bins": dolly.length_bin_labels(),
        "fields": fields,
        "by_category": by_category,
        "contributors": len(tally.authors),
        "written_here": len(tally.ids) - sum(tally.sources.values()),
        "sources": [
            {
                "name": sources[pk].name,
                "license": sources[pk].license,
                "url": sources[pk].url,
                "count": count,
            }
            for pk, count in sorted(tally.sources.items(), key=lambda item: sources[item[0]].name)
        ],
        "passages": [
            {"domain": domain, "count": count}
            for domain, count in sorted(tally.passage_hosts.items(), key=lambda i: (-i[1], i[0]))
        ],
    }


TASK_CATEGORIES = {
    "open_qa": "question-answering",
    "closed_qa": "question-answering",
    "general_qa": "question-answering",
    "information_extraction": "question-answering",
    "summarization": "summarization",
    "classification": "text-classification",
    "creative_writing": "text-generation",
    "brainstorming": "text-generation",
}


def _task_categories(category_counts: dict) -> list[str]:
    return sorted({TASK_CATEGORIES.get(slug, "text-generation") for slug in category_counts})


def _described(path: Path, name: str) -> dict:
    data = path.read_bytes()
    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _manifest(snapshot, options, parent, record_count, category_counts, files, changes) -> bytes:
    manifest = {
        "name": settings.FLOCK_DATASET_NAME,
        "version": snapshot.version,
        "created_at": snapshot.started_at.isoformat(),
        "created_by": snapshot.created_by.get_username() if snapshot.created_by else None,
        "origin": snapshot.origin,
        "format": "databricks-dolly-15k JSONL: instruction, context, response, category",
        "license": "cc-by-sa-3.0",
        "filters": {
            **options.as_dict(),
            "status": "accepted",
            "excluded": holds.RULE_TEXT,
        },
        "record_count": record_count,
        "category_counts": category_counts,
        "files": files,
        "parent": parent.version if parent else None,
        "changes": {key: f"@{key}@" for key in changes},
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    for key, ids in changes.items():  # id lists on one line each, not one line per id
        text = text.replace(f'"@{key}@"', json.dumps(ids, separators=(",", ":")), 1)
    return text.encode()


def _archive(snapshot: Snapshot, spool: Path, files: list[dict]) -> dict:
    """The name, size and sha256 of the tar of every file, as downloads will stream it."""
    mtime = int(snapshot.started_at.timestamp())
    digest = hashlib.sha256()
    size = 0
    for chunk in dolly.archive_stream(
        folder=snapshot.directory,
        members=[(item["name"], item["size"]) for item in files],
        opener=lambda name: open(spool / name, "rb"),  # noqa: SIM115 (closed by the stream)
        mtime=mtime,
    ):
        digest.update(chunk)
        size += len(chunk)
    return {
        "name": dolly.archive_name(snapshot.directory),
        "size": size,
        "sha256": digest.hexdigest(),
        "mtime": mtime,
    }
