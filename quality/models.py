from django.conf import settings
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
    # What its Bucket rows hold, kept beside them so that rewriting an entry's index reads one
    # row, not the some 27 bucket rows spread over the largest table of the index (at a million
    # entries, reading 10,000 revised entries' keys took 2-10 s of the job after 1% changed).
    keys = models.BinaryField(
        null=True,
        editable=False,
        help_text="The keys of its buckets: sorted, each 8 bytes big-endian (dedupe.keys_packed); "
        "null: unknown (written before this column), read from the buckets.",
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
    key = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fingerprint", "key"], name="one_bucket_per_key")
        ]
        # Who holds a key is answered from the index alone (PostgreSQL's index-only scan): the
        # writing page's check asks it of some 21-51 keys at every pause, and each answer read
        # from the table was a page of its own, from disk when the table is not in memory
        # (at a million entries the table is 3.5 GB). SQLite ignores `include`.
        indexes = [models.Index(fields=["key"], include=["fingerprint"], name="bucket_key_holder")]

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


class ReferenceCorpus(models.Model):
    """Questions that must never appear in training data (a company's evaluation sets, public
    benchmark questions kept locally), imported by an admin (`manage.py import_dolly
    --reference`). Their instructions are indexed like entries' (quality/dedupe.py) but they are
    never exported and never shown to writers: an entry whose instruction matches one, exactly
    or nearly, gets a blocking flag naming the corpus (quality/services/references.py)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    item_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "reference corpora"

    def __str__(self):
        return self.name


class ReferenceItem(models.Model):
    """One question of a reference corpus: its instruction, exact hash and MinHash signature
    (over the instruction alone, the same rules as the duplicate index)."""

    corpus = models.ForeignKey(ReferenceCorpus, on_delete=models.CASCADE, related_name="items")
    number = models.PositiveIntegerField(help_text="Its place in the corpus, in import order.")
    instruction = models.TextField()
    exact_hash = models.CharField(max_length=64, db_index=True)
    signature = models.BinaryField(default=b"")
    rules = models.PositiveSmallIntegerField(
        default=0, help_text="dedupe.RULES_VERSION it was indexed with: older rows are rewritten."
    )

    class Meta:
        ordering = ["corpus", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["corpus", "exact_hash"], name="one_reference_item_per_text"
            )
        ]

    def __str__(self):
        return f"{self.corpus_id}:{self.number}"


class ReferenceBucket(models.Model):
    """One LSH band key of a reference question (as Bucket is of an entry)."""

    item = models.ForeignKey(
        ReferenceItem, on_delete=models.CASCADE, related_name="buckets", db_index=False
    )
    key = models.BigIntegerField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "key"], name="one_reference_bucket_per_key")
        ]

    def __str__(self):
        return f"{self.item_id} {self.key}"
