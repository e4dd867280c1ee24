from django.conf import settings
from django.db import models


class SnapshotStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a worker"
    RUNNING = "running", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    # A nightly snapshot past the retention rule (FLOCK_NIGHTLY_KEEP): its files were deleted,
    # its row stays for the history (versions, changes, removals in later cards).
    PRUNED = "pruned", "Files removed by the retention rule"


class SnapshotOrigin(models.TextChoices):
    BROWSER = "browser", "Exports page"
    API = "api", "API"
    COMMAND = "command", "manage.py export_snapshot"
    SCHEDULE = "schedule", "Nightly schedule"


class Snapshot(models.Model):
    """An immutable, numbered release of the accepted data in the databricks-dolly-15k format.

    Its files live in the snapshot storage (STORAGES["snapshots"]) under `directory`; the row
    says which files there are, with their sizes and sha256. Only a `ready` snapshot's files are
    offered: a build writes every file first and records the checksums last (exports/services/snapshots/build.py).
    """

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(
        max_length=10, choices=SnapshotStatus.choices, default=SnapshotStatus.PENDING
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="0–100 while building.")
    stage = models.CharField(max_length=100, blank=True)
    options = models.JSONField(default=dict, help_text="The filters and split it was built with.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="snapshots",
    )
    # "<user id or system>:<key>": asking again with the same key returns this snapshot.
    request_key = models.CharField(max_length=120, unique=True)
    origin = models.CharField(max_length=10, choices=SnapshotOrigin.choices)
    job_id = models.CharField(max_length=100, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written with every progress report: a build whose heartbeat stops lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Kept whatever the retention rule says (FLOCK_NIGHTLY_KEEP prunes only unpinned nightlies).
    pinned = models.BooleanField(default=False)
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Which set of files a build writes (exports/services/snapshots/build.py LAYOUT): a nightly
    # is never skipped for "nothing changed" when its parent was built with another layout.
    layout = models.PositiveSmallIntegerField(default=1)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Filled in when the snapshot becomes ready.
    record_count = models.PositiveIntegerField(default=0)
    category_counts = models.JSONField(default=dict)
    files = models.JSONField(default=list, help_text="[{name, size, sha256}] in the directory.")
    archive = models.JSONField(default=dict, help_text="{name, size, sha256} of the tar of all.")
    archive_gz = models.JSONField(
        default=dict, help_text="{name, size, sha256} of the gzipped tar, written at build time."
    )
    stats = models.JSONField(default=dict, help_text="Length distributions for the pictures.")
    changes = models.JSONField(default=dict, help_text="Counts added/removed/changed vs parent.")
    removals = models.JSONField(
        default=dict,
        help_text="The ids removed since the parent, by reason: withdrawn, erased, moderated.",
    )
    # Sorted (entry id, digest of its exported line) pairs, to tell what the next one changes.
    digest = models.BinaryField(default=b"", editable=False)
    # Sorted (entry id, digest of the database text it was made of) pairs: the next build copies
    # the records whose text digest is unchanged from this one's files (rows.ParentRecords).
    text_digest = models.BinaryField(default=b"", editable=False)

    # A nightly snapshot: the schedule asked for it, no person did; the retention rule prunes
    # only these. NIGHTLY in queries, is_nightly (below) on a row: one rule, kept side by side.
    NIGHTLY = models.Q(origin=SnapshotOrigin.SCHEDULE, created_by__isnull=True)

    class Meta:
        ordering = ["-version"]
        get_latest_by = "version"
        constraints = [
            # One build at a time: the rescans and the version order depend on it.
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="running"),
                name="one_snapshot_running",
            ),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="snapshot_progress_0_100"
            ),
        ]

    def __str__(self):
        return f"Snapshot v{self.version} ({self.status})"

    @property
    def is_nightly(self) -> bool:
        """Asked for by the schedule, not by a person (NIGHTLY, above, in queries)."""
        return self.origin == SnapshotOrigin.SCHEDULE and self.created_by_id is None

    @property
    def label(self) -> str:
        return f"v{self.version}"

    @property
    def directory(self) -> str:
        """Where its files are in the snapshot storage."""
        return f"v{self.version:04d}"

    @property
    def is_ready(self) -> bool:
        return self.status == SnapshotStatus.READY

    @property
    def is_active(self) -> bool:
        return self.status in (SnapshotStatus.PENDING, SnapshotStatus.RUNNING)

    def file(self, name: str) -> dict | None:
        """The recorded file (or the archive) of this name, if the snapshot is ready."""
        if not self.is_ready:
            return None
        for item in [*self.files, self.archive, self.archive_gz]:
            if item and item.get("name") == name:
                return item
        return None
