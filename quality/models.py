from django.db import models

from annotation.models import Entry


class Fingerprint(models.Model):
    """An entry's place in the duplicate index: its exact hash and, through its buckets, its
    MinHash LSH band keys. Kept per entry so the index changes one entry at a time and survives
    restarts (quality/dedupe.py has the rules)."""

    entry = models.OneToOneField(
        Entry, primary_key=True, on_delete=models.CASCADE, related_name="fingerprint"
    )
    exact_hash = models.CharField(max_length=64, db_index=True)
    signature = models.BinaryField(
        default=b"", help_text="MinHash signature: 128 uint32, little-endian."
    )
    rules = models.PositiveSmallIntegerField(
        default=1, help_text="dedupe.RULES_VERSION it was written with: older rows are rewritten."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"#{self.entry_id} {self.exact_hash[:12]}"


class Bucket(models.Model):
    """One LSH band key of an entry: entries sharing a key are candidate near duplicates."""

    # No index and no database constraint of its own: the unique (fingerprint, key) index
    # serves look-ups by fingerprint, the rescans delete an entry's buckets with its fingerprint
    # (and Django cascades), and a rescan rewriting 30,000 bucket rows then checks no foreign
    # key per row. The index is derived data that a full rescan rebuilds.
    fingerprint = models.ForeignKey(
        Fingerprint,
        on_delete=models.CASCADE,
        related_name="buckets",
        db_index=False,
        db_constraint=False,
    )
    key = models.BigIntegerField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fingerprint", "key"], name="one_bucket_per_key")
        ]

    def __str__(self):
        return f"#{self.fingerprint_id} {self.key}"


class ScanMark(models.Model):
    """Where a corpus rescan got to: the moment its last run started, and the rules it ran with.

    The next run looks only at what changed since `started_at`; a change of `rules` (a threshold,
    the phrase list, the allowed sources, the duplicate algorithm) makes it look at everything.
    """

    name = models.CharField(max_length=30, primary_key=True)
    rules = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    entries = models.PositiveIntegerField(default=0, help_text="How many entries it looked at.")
    full = models.BooleanField(default=False)

    def __str__(self):
        return f"{self.name} at {self.started_at:%Y-%m-%d %H:%M}"
