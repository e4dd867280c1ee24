from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotation.models import Category, Entry, Review


class Contest(models.Model):
    """A contest: entries submitted inside [starts_at, ends_at) count for it; reviews may still
    decide them until grace_ends_at, when standings are frozen."""

    name = models.CharField(max_length=120)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    grace_ends_at = models.DateTimeField(help_text="Reviews until then still count; then frozen.")
    prize = models.TextField(blank=True)
    # Rules; empty means the setting's default (FLOCK_POINTS_*).
    accepted_points = models.PositiveIntegerField(null=True, blank=True)
    review_points = models.PositiveIntegerField(null=True, blank=True)
    short_category_bonus = models.PositiveIntegerField(null=True, blank=True)
    multipliers = models.JSONField(
        default=dict, blank=True, help_text='Per-category multipliers, e.g. {"closed_qa": 2}.'
    )
    focus_categories = models.ManyToManyField(Category, blank=True, related_name="focus_contests")
    focus_bonus = models.PositiveIntegerField(
        default=0, help_text="Extra points for an accepted entry in a focus category."
    )
    winner_count = models.PositiveSmallIntegerField(default=3)
    # Set for the contests the weekly job makes, e.g. "2026-W48": makes the job idempotent.
    week = models.CharField(max_length=8, unique=True, null=True, blank=True, editable=False)
    finalized_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="contest_window"
            ),
            models.CheckConstraint(
                condition=Q(grace_ends_at__gte=models.F("ends_at")), name="contest_grace_after_end"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_finalized(self) -> bool:
        return self.finalized_at is not None

    def phase(self, now=None) -> str:
        now = now or timezone.now()
        if self.finalized_at:
            return "final"
        if now < self.starts_at:
            return "upcoming"
        if now < self.ends_at:
            return "running"
        if now < self.grace_ends_at:
            return "grace"
        return "due"


class ScoreKind(models.TextChoices):
    ENTRY_ACCEPTED = "entry_accepted", "Entry accepted"
    REVIEW_AGREED = "review_agreed", "Review agreed with the outcome"
    # Compensating events: an overturned decision's points taken back (object_key
    # "event:<id of the event reversed>"), never an edit or a deletion of the ledger.
    ENTRY_REVERSED = "entry_reversed", "Accepted entry's points reversed"
    REVIEW_REVERSED = "review_reversed", "Review's points reversed"


class ScoreEvent(models.Model):
    """One line of the append-only points ledger. Its key (kind, object, user) is unique, so a
    replayed job or event can never count twice; boards are sums over these rows."""

    kind = models.CharField(max_length=20, choices=ScoreKind.choices)
    object_key = models.CharField(max_length=40, help_text="What earned it, e.g. entry:12.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="score_events"
    )
    points = models.IntegerField()
    entry = models.ForeignKey(Entry, null=True, on_delete=models.PROTECT, related_name="+")
    review = models.ForeignKey(Review, null=True, on_delete=models.PROTECT, related_name="+")
    contest = models.ForeignKey(
        Contest, null=True, blank=True, on_delete=models.PROTECT, related_name="score_events"
    )
    reason = models.CharField(max_length=300, help_text="How the points were computed.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_key", "user"], name="score_event_key")
        ]
        indexes = [
            models.Index(fields=["contest", "user"]),
            models.Index(fields=["user", "created_at"]),
        ]

    def __str__(self):
        return f"{self.user} +{self.points} {self.kind} {self.object_key}"


class Standing(models.Model):
    """A contest's final standings, frozen when its grace period ends."""

    contest = models.ForeignKey(Contest, on_delete=models.CASCADE, related_name="standings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveIntegerField()
    points = models.IntegerField()
    accepted = models.PositiveIntegerField()
    reviews = models.PositiveIntegerField()
    is_winner = models.BooleanField(default=False)

    class Meta:
        ordering = ["contest", "rank", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["contest", "user"], name="one_standing_per_user")
        ]

    def __str__(self):
        return f"{self.contest}: #{self.rank} {self.user}"
