from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import MD5, Cast, Concat, Length

from annotation import masking

MAX_URL_CHARS = 2000
MAX_COMMENT_CHARS = 5_000
MAX_DECISION_REASON_CHARS = 2_000


class Team(models.Model):
    """A department; leaderboards can be read per team."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class EmailChoice(models.TextChoices):
    """Which e-mails of their notifications a person gets (Profile.email_notifications)."""

    EACH = "each", "Each one as it happens"
    DIGEST = "digest", "A daily digest"
    NONE = "none", "None (only the list in Flock)"


def person_name(display_name: str | None, username: str) -> str:
    """How Flock names a person: their display name, else their username."""
    return display_name or username


def staff_name(display_name: str | None, username: str) -> str:
    """How moderators' tables name a person: "Display (username)", so that two people with one
    display name can be told apart; the username alone when there is no other name."""
    if display_name and display_name != username:
        return f"{display_name} ({username})"
    return username


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=100, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    show_on_leaderboard = models.BooleanField(
        default=True, help_text="Show the display name on leaderboards; otherwise 'anonymous'."
    )
    # "<issuer>|<sub>": the company account (OpenID Connect) this profile belongs to, set at the
    # first company sign-in; empty for accounts that never signed in that way.
    oidc_identity = models.CharField(
        max_length=512,
        blank=True,
        default="",
        help_text="The company account (issuer|subject) that signs in to this account.",
    )
    # Which e-mails of their notifications the person gets (annotation.services.notifications).
    email_notifications = models.CharField(
        max_length=10,
        choices=EmailChoice.choices,
        default=EmailChoice.DIGEST,
        help_text="E-mails about your notifications.",
    )
    # When the last daily digest covered up to; the next one tells what happened since.
    digest_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["oidc_identity"],
                condition=~Q(oidc_identity=""),
                name="profile_oidc_identity_unique",
            )
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return person_name(self.display_name, self.user.get_username())


class ContributorAgreement(models.Model):
    """A version of the terms contributors accept before submitting; the newest published wins."""

    version = models.CharField(max_length=32, unique=True)
    text = models.TextField()
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["-published_at"]
        get_latest_by = "published_at"

    def __str__(self):
        return f"Contributor agreement {self.version}"


class AgreementAcceptance(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agreement_acceptances"
    )
    agreement = models.ForeignKey(
        ContributorAgreement, on_delete=models.PROTECT, related_name="acceptances"
    )
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "agreement"], name="one_acceptance_per_version")
        ]

    def __str__(self):
        return f"{self.user} accepted {self.agreement.version}"


class ContextPolicy(models.TextChoices):
    REQUIRED = "required", "Reference passage required"
    OPTIONAL = "optional", "Reference passage optional"
    NONE = "none", "No reference passage"


class Category(models.Model):
    """One of the Dolly task types, with what a writer needs to do it well."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)
    summary = models.CharField(max_length=200)
    guidelines = models.TextField()
    example_instruction = models.TextField()
    example_context = models.TextField(blank=True)
    example_response = models.TextField()
    context_policy = models.CharField(max_length=10, choices=ContextPolicy.choices)
    target_count = models.PositiveIntegerField(
        default=1000, help_text="How many accepted entries the drive wants."
    )
    points_multiplier = models.DecimalField(max_digits=4, decimal_places=2, default=1)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name

    @property
    def takes_context(self) -> bool:
        return self.context_policy != ContextPolicy.NONE


class Source(models.Model):
    """A public corpus whose records were imported as accepted entries (e.g. databricks-dolly-15k),
    attributed to it rather than to an employee, under its own licence."""

    name = models.CharField(max_length=100, unique=True)
    license = models.CharField(max_length=40)
    url = models.URLField(max_length=MAX_URL_CHARS, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.license})"


class EntryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Entry(models.Model):
    """An instruction/context/response record. Its text is the latest revision's."""

    # An employee's entry has an author; an imported one has a source instead.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    # For imports: the record's fingerprint, so that importing a file again adds nothing.
    import_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="entries")
    status = models.CharField(
        max_length=10, choices=EntryStatus.choices, default=EntryStatus.DRAFT, db_index=True
    )
    instruction = models.TextField(blank=True)
    context = models.TextField(blank=True)
    response = models.TextField(blank=True)
    source_url = models.URLField(max_length=MAX_URL_CHARS, blank=True)
    # Set by the writing page: every save from one page (autosave, the beacon of a closing tab,
    # the submit button) lands on one draft, however their requests race.
    draft_key = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Peer review. A round is one submission; resubmitting after a rejection starts a new round
    # whose reviews count afresh. review_count is the current round's, kept for the queue's order.
    review_round = models.PositiveSmallIntegerField(default=1)
    review_count = models.PositiveIntegerField(default=0)
    # How many revisions the entry has: the next one is numbered revision_count + 1
    # (services.revision_record allocates it).
    revision_count = models.PositiveIntegerField(default=0, editable=False)
    leased_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_leases",
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # The MD5 of the text (each field after its length, so that no two texts digest alike by
    # moving characters between fields), worked out by the database on every write, whoever
    # writes (an UPDATE in psql too): a snapshot build copies from its parent the records whose
    # text digest did not change, without reading their text (exports/services/snapshots).
    text_digest = models.GeneratedField(
        expression=MD5(
            Concat(
                *(
                    part
                    for name in ("instruction", "context", "response")
                    for part in (Cast(Length(name), models.CharField()), Value(":"), F(name))
                ),
                output_field=models.TextField(),
            )
        ),
        output_field=models.CharField(max_length=32),
        db_persist=True,
    )

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name_plural = "entries"
        indexes = [
            models.Index(fields=["author", "status"]),
            models.Index(fields=["category", "status"]),
            models.Index(fields=["status", "review_count", "submitted_at"], name="review_queue"),
            # The quality rescans look at what changed since their last run.
            models.Index(fields=["updated_at"], name="entry_changed"),
            # The moderation workbench's order; its text search has a pg_trgm index on
            # PostgreSQL (migration 0016).
            models.Index(fields=["submitted_at", "id"], name="entry_submitted"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False),
                name="entry_submitted_at_once_out_of_draft",
            ),
            models.UniqueConstraint(fields=["author", "draft_key"], name="one_entry_per_draft_key"),
            models.UniqueConstraint(
                fields=["source", "import_key"],
                condition=Q(source__isnull=False),
                name="one_import_per_record",
            ),
            models.CheckConstraint(
                condition=Q(author__isnull=False) | Q(source__isnull=False),
                name="entry_has_author_or_source",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.category.slug}: {self.instruction[:60]}"

    LEASE_FIELDS = ("leased_to", "lease_expires_at")

    @property
    def is_editable(self) -> bool:
        return self.status == EntryStatus.DRAFT

    def release_lease(self) -> None:
        """Forget who holds the entry for review (save LEASE_FIELDS to store it)."""
        self.leased_to = None
        self.lease_expires_at = None


class Revision(models.Model):
    """A copy of an entry's text after each change; rows are only ever added, except that the
    writing page's autosaves of one editing session update the author's latest draft revision
    (services.entries._revision_fold; never a submitted text or a reviewer's fix)."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="revisions"
    )
    instruction = models.TextField(blank=True)
    context = models.TextField(blank=True)
    response = models.TextField(blank=True)
    source_url = models.URLField(max_length=MAX_URL_CHARS, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entry", "number"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "number"], name="revision_number_per_entry")
        ]

    def __str__(self):
        return f"#{self.entry_id} r{self.number}"


class RemovalReason(models.TextChoices):
    """Why an accepted entry is kept out of future releases (a snapshot's manifest says so, with
    "moderated" for the entries a moderator or a quality check took out)."""

    WITHDRAWN = "withdrawn", "Withdrawn from releases"
    ERASED = "erased", "Erased with its author's data"


class ReleaseRemoval(models.Model):
    """An entry kept out of every snapshot from now on: withdrawn by its author (or by an admin
    for someone who left), or erased with its author's data (annotation/services/erasure.py).
    Snapshots already built keep it; the next one leaves it out and its manifest lists it with
    the reason. Final: a withdrawn entry is never released again."""

    entry = models.OneToOneField(Entry, on_delete=models.CASCADE, related_name="release_removal")
    reason = models.CharField(max_length=10, choices=RemovalReason.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The author, or the admin who acted for them.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"#{self.entry_id} {self.reason}"


class Erasure(models.Model):
    """The record that a person's data was erased (at their request, or by an admin): when, by
    whom, how much; nothing of what was erased. Their account stays, emptied and inactive, so
    that the ledger's events and the reviews that decided other entries still add up."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="erasure"
    )
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    entries = models.PositiveIntegerField(default=0, help_text="Entries whose text was erased.")
    revisions = models.PositiveIntegerField(default=0, help_text="Revisions whose text was erased.")
    reviews = models.PositiveIntegerField(default=0, help_text="Reviews whose comment was erased.")

    def __str__(self):
        return f"Erasure of account #{self.person_id}"


class Verdict(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class RejectReason(models.TextChoices):
    WRONG_CATEGORY = "wrong_category", "Wrong category"
    FACTUAL_ERROR = "factual_error", "Factual error"
    UNCLEAR_INSTRUCTION = "unclear_instruction", "Unclear instruction"
    LOW_EFFORT = "low_effort", "Low effort"
    CONTEXT_PROBLEM = "context_problem", "Context missing or mismatched"
    COPIED_OR_AI = "copied_or_ai", "Copied or AI-generated"
    PERSONAL_DATA = "personal_data", "Personal data"
    DUPLICATE = "duplicate", "Duplicate"
    OTHER = "other", "Other"


def reject_reasons_unknown(reasons: list[str]) -> str | None:
    """The message for reasons that are not RejectReasons (a review's, a gold mark's), or None."""
    unknown = [reason for reason in reasons if reason not in RejectReason.values]
    return f"Unknown reason: {', '.join(map(str, unknown))}." if unknown else None


class Review(models.Model):
    """One reviewer's verdict on an entry; a reviewer reviews an entry at most once, ever."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    round = models.PositiveSmallIntegerField()
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    rating = models.PositiveSmallIntegerField()
    reasons = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    fix = models.OneToOneField(
        Revision, null=True, blank=True, on_delete=models.PROTECT, related_name="fixed_in_review"
    )
    # Whether the verdict counts toward consensus and earns review points: false when the
    # reviewer's gold accuracy was below FLOCK_GOLD_MIN_ACCURACY as they gave it.
    counts = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "reviewer"], name="one_review_per_reviewer"),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"
            ),
        ]
        indexes = [
            models.Index(fields=["entry", "round"]),
            # A leaderboard row's review count (in a contest's window) read from the index alone.
            models.Index(fields=["reviewer", "created_at"], name="review_by_reviewer"),
        ]

    def __str__(self):
        return f"{self.reviewer} {self.verdict} #{self.entry_id}"

    def get_reasons_display(self) -> list[str]:
        labels = dict(RejectReason.choices)
        return [labels.get(reason, reason) for reason in self.reasons]


class Outcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


# When a verdict agrees with an outcome (reviewer agreement, review points, gold marks): an
# approval with an acceptance, a rejection with a rejection. The outcomes are also the entry
# statuses of a decided entry (EntryStatus.ACCEPTED == Outcome.ACCEPTED).
OUTCOME_OF_VERDICT = {Verdict.APPROVE: Outcome.ACCEPTED, Verdict.REJECT: Outcome.REJECTED}
VERDICT_OF_OUTCOME = {outcome: verdict for verdict, outcome in OUTCOME_OF_VERDICT.items()}


class Decision(models.Model):
    """How a review round ended: by consensus (decided_by empty) or by a moderator, with a reason."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="decisions")
    round = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions_made",
    )
    reason = models.TextField(blank=True)
    approvals = models.PositiveIntegerField(default=0)
    rejections = models.PositiveIntegerField(default=0)
    # Set when a moderator overturned the round's earlier decision to this outcome (approve or
    # reject): the new decision keeps the round's number. Consensus decides a round once.
    overturn = models.OneToOneField(
        "Overturn",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decision_made",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entry", "round", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "round"],
                condition=Q(overturn__isnull=True),
                name="one_decision_per_round",
            )
        ]

    def __str__(self):
        return f"#{self.entry_id} round {self.round}: {self.outcome}"

    @property
    def by_moderator(self) -> bool:
        return self.decided_by_id is not None


class OverturnVerdict(models.TextChoices):
    APPROVE = "approve", "Accept it"
    REJECT = "reject", "Reject it"
    REOPEN = "reopen", "Reopen it for review"


class Overturn(models.Model):
    """A moderator's reversal of a decision, with the reason its author reads.

    `approve`/`reject` make a new Decision of the same round (Decision.overturn); `reopen` puts
    the entry back under review in a new round. A decision is overturned at most once; the
    points it earned are reversed in the ledger by compensating events, never by edits.
    """

    decision = models.OneToOneField(
        Decision, on_delete=models.CASCADE, related_name="overturned_by"
    )
    verdict = models.CharField(max_length=10, choices=OverturnVerdict.choices)
    reason = models.TextField()
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="overturns_made"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.decision.entry_id} round {self.decision.round} overturned: {self.verdict}"


class GoldEntry(models.Model):
    """An entry a moderator knows the right verdict for, handed to reviewers among the others to
    measure how well they review (their gold record, GoldReview).

    A known-bad entry carries the reasons a reviewer should give. The mark holds for the text as
    it was marked (`revision`): once the entry's text changes, it is no longer handed out.
    """

    entry = models.OneToOneField(Entry, on_delete=models.CASCADE, related_name="gold")
    expected = models.CharField(max_length=10, choices=Verdict.choices)
    reasons = models.JSONField(default=list, blank=True)
    revision = models.PositiveIntegerField(help_text="Entry.revision_count when it was marked.")
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    marked_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-marked_at", "-id"]
        verbose_name_plural = "gold entries"

    def __str__(self):
        return f"Gold #{self.entry_id}: {self.expected}"


class GoldReview(models.Model):
    """A gold entry handed to a reviewer (pending until they answer), and their answer.

    `caught` is whether the answer matched the known verdict (and, for a known-bad entry, named
    one of its reasons); None while pending or when skipped. Never a Review: a gold answer does
    not decide the entry, count toward any consensus, or earn points.
    """

    gold = models.ForeignKey(GoldEntry, on_delete=models.CASCADE, related_name="answers")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gold_reviews"
    )
    handed_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=10, choices=Verdict.choices, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    caught = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["-handed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gold", "reviewer"], name="one_gold_review_per_reviewer"
            )
        ]
        indexes = [models.Index(fields=["reviewer", "answered_at"], name="gold_review_record")]

    def __str__(self):
        return f"{self.reviewer} on gold #{self.gold.entry_id}: {self.caught}"


class ReviewSkip(models.Model):
    """A reviewer passed on an entry; the queue stops offering it to them."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="skips")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_skips"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "reviewer"], name="one_skip_per_reviewer")
        ]

    def __str__(self):
        return f"{self.reviewer} skipped #{self.entry_id}"


class FlagKind(models.TextChoices):
    EXACT_DUPLICATE = "exact_duplicate", "Exact duplicate"
    NEAR_DUPLICATE = "near_duplicate", "Near duplicate"
    SOURCE_NOT_ALLOWED = "source_not_allowed", "Source not allowed"
    NO_AGREEMENT = "no_agreement", "No contributor agreement"
    AI_TEXT = "ai_text", "Reads like AI-generated text"
    PERSONAL_DATA = "personal_data", "Personal data"
    # The defects Databricks repaired in dolly-15k after release (imported records keep their
    # text; written ones are refused at submit).
    RESPONSE_REPEATS_INSTRUCTION = "repeats_instruction", "Response repeats the instruction"
    RESPONSE_IS_PASSAGE = "response_is_passage", "Response is the passage"
    CITATION_MARKERS = "citation_markers", "Wikipedia citation markers"
    # Raised by a moderator with a note, on any entry.
    MODERATOR = "moderator", "Raised by a moderator"
    # The instruction matches a question of a reference corpus (an evaluation set that must
    # never be trained on): quality/services/references.py.
    REFERENCE_MATCH = "reference_match", "Matches a reference (evaluation) question"


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    CONFIRMED = "confirmed", "Confirmed"
    DISMISSED = "dismissed", "Dismissed"
    # Closed by a check that no longer finds it (the text was revised, another copy is kept):
    # not a person's judgement, so the same finding found again reopens it.
    CLOSED = "closed", "Closed by a later check"


class Flag(models.Model):
    """A quality check's finding on an entry (or a moderator's, by hand), for reviewers to see and
    moderators to resolve.

    `evidence_key` identifies the finding (the matched span, the other entry), so re-running a
    check finds the same flag instead of adding another. `blocking` has one meaning: while the
    flag is open or confirmed, the entry is kept out of snapshots (annotation/holds.py).
    """

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=20, choices=FlagKind.choices)
    evidence = models.TextField()
    evidence_key = models.CharField(max_length=200)
    blocking = models.BooleanField(
        help_text="While open or confirmed, a blocking flag keeps the entry out of snapshots."
    )
    status = models.CharField(
        max_length=10, choices=FlagStatus.choices, default=FlagStatus.OPEN, db_index=True
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The moderator who raised it by hand; empty for a check's finding.",
    )
    duplicate_of = models.ForeignKey(
        Entry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    similarity = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "kind", "evidence_key"], name="one_flag_per_finding"
            )
        ]

    def __str__(self):
        return f"#{self.entry_id} {self.kind} ({self.status})"

    @property
    def evidence_shown(self) -> str:
        """The evidence as pages, the API and the admin show it: a check's personal-data finding
        with its values masked (annotation/masking.py), also when it was stored in clear."""
        if self.kind == FlagKind.PERSONAL_DATA and self.raised_by_id is None:
            return masking.evidence_masked(self.evidence)
        return self.evidence


class ApiToken(models.Model):
    """A named key a script sends as `Authorization: Token <key>`.

    Only the sha256 `digest` of the key is stored: the key is shown once, when it is made, and a
    copy of the database lets nobody call the API. `prefix` (the key's first characters) is not
    secret; it lets the owner tell which key a script holds. Revoking a token deletes it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Refused from this moment on; empty: never expires."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class NotificationKind(models.TextChoices):
    ENTRY_DECIDED = "entry_decided", "Entry decided"
    ENTRY_FIXED = "entry_fixed", "Entry fixed by a reviewer"
    CONTEST_FINALIZED = "contest_finalized", "Contest finalised"
    ENTRY_OVERTURNED = "entry_overturned", "Entry's outcome overturned by a moderator"


class Notification(models.Model):
    """Something that happened to a person's work, for their list (and e-mail, as they chose).

    `text` holds only what the recipient may read; `link` is a path within Flock they may open.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    text = models.CharField(max_length=300)
    link = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_new"),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.recipient_id}: {self.text[:40]}"
