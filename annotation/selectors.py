import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from annotation import holds
from annotation.diff import TextDiff, text_diff
from annotation.models import (
    AgreementAcceptance,
    ApiToken,
    Category,
    ContributorAgreement,
    Decision,
    EmailChoice,
    Entry,
    EntryStatus,
    Flag,
    Notification,
    Outcome,
    Profile,
    Review,
    ReviewSkip,
    Revision,
    Verdict,
)
from annotation.roles import is_moderator
from annotation.text import ENTRY_FIELDS, TEXT_FIELDS

# The states in which an entry is shared with its reviewers (entries_visible_to).
REVIEWED_STATUSES = (EntryStatus.SUBMITTED, EntryStatus.ACCEPTED, EntryStatus.REJECTED)


def profile_for(*, user: AbstractBaseUser) -> Profile:
    """The user's profile, or an unsaved default one for accounts that have none yet."""
    return Profile.objects.select_related("team").filter(user=user).first() or Profile(user=user)


def agreement_current() -> ContributorAgreement | None:
    """The agreement in force: the newest one already published."""
    return (
        ContributorAgreement.objects.filter(published_at__lte=timezone.now())
        .order_by("-published_at")
        .first()
    )


@dataclass(frozen=True)
class AgreementStatus:
    current: ContributorAgreement | None
    acceptance: AgreementAcceptance | None

    @property
    def accepted(self) -> bool:
        return self.acceptance is not None


def agreement_status(*, user: AbstractBaseUser) -> AgreementStatus:
    current = agreement_current()
    acceptance = None
    if current is not None and user.is_authenticated:
        acceptance = AgreementAcceptance.objects.filter(user=user, agreement=current).first()
    return AgreementStatus(current=current, acceptance=acceptance)


def email_taken(*, email: str, exclude_pk: int | None = None) -> bool:
    """Whether another account has this address, in any case: one account per address (the
    database enforces it too, migration 0011's index on LOWER(email))."""
    accounts = get_user_model().objects.filter(email__iexact=email.strip())
    if exclude_pk is not None:
        accounts = accounts.exclude(pk=exclude_pk)
    return bool(email.strip()) and accounts.exists()


def fix_allowed(*, reviewer: AbstractBaseUser) -> bool:
    """Whether the reviewer may change an entry's text: their words enter the released data, so
    they need the contributor agreement in force, as an author does to submit."""
    return agreement_status(user=reviewer).accepted


def category_list_with_progress() -> list[Category]:
    """Active categories with accepted/submitted counts, those furthest from their target first.

    Each category gets `accepted_count`, `submitted_count`, `remaining` (target minus accepted and
    in review, never below zero) and `progress_percent` (accepted share of the target).
    """
    categories = list(
        Category.objects.filter(is_active=True).annotate(
            # Imported corpora are not the drive's work: they do not count toward targets.
            accepted_count=Count(
                "entries",
                filter=Q(entries__status=EntryStatus.ACCEPTED, entries__source__isnull=True),
            ),
            submitted_count=Count("entries", filter=Q(entries__status=EntryStatus.SUBMITTED)),
        )
    )
    for category in categories:
        target = category.target_count
        in_hand = category.accepted_count + category.submitted_count
        category.remaining = max(target - in_hand, 0)
        category.progress_percent = (
            min(100, round(100 * category.accepted_count / target)) if target else 100
        )
        category.need_ratio = category.remaining / target if target else 0.0
    categories.sort(key=lambda c: (-c.need_ratio, c.position, c.slug))
    return categories


def category_get_active(*, slug: str) -> Category:
    return Category.objects.get(slug=slug, is_active=True)


# --- Who may read an entry ---------------------------------------------------------------


def entries_visible_to(*, viewer: AbstractBaseUser) -> QuerySet:
    """The entries `viewer` may read, with their flags: the one rule for every page and API.

    - A draft is its author's alone; moderators too are told it does not exist.
    - A submitted or decided (accepted, rejected) entry is its author's, its reviewers' (those
      who reviewed it, in any round, and the one holding it from the review queue: it was handed
      to them and they have not yet reviewed it, skipped it or asked for another) and the
      moderators'.
    - A withdrawn entry is on its way back to its author: its author's and the moderators'.

    Anyone else gets a 404 through annotation/lookups.py, as for an id never used, so ids reveal
    nothing. Flags follow their entry (flag_list, flag_get_visible).
    """
    if viewer is None or not viewer.is_authenticated:
        return Entry.objects.none()
    own = Q(author=viewer)
    if is_moderator(viewer):
        return Entry.objects.filter(own | ~Q(status=EntryStatus.DRAFT))
    reviewed = Exists(Review.objects.filter(entry=OuterRef("pk"), reviewer=viewer))
    shared = Q(status__in=REVIEWED_STATUSES) & (Q(leased_to=viewer) | reviewed)
    return Entry.objects.filter(own | shared)


def category_list_active() -> QuerySet:
    """The categories a writer can pick, in their display order."""
    return Category.objects.filter(is_active=True).order_by("position", "slug")


def _entries_of_author(
    *, author: AbstractBaseUser, category: Category | None = None, search: str = ""
) -> QuerySet:
    """The author's entries in `category`, whose instruction, context or response contains
    `search` (ignoring case); the shared base of My entries' list and its tab counts."""
    entries = Entry.objects.filter(author=author)
    if category is not None:
        entries = entries.filter(category=category)
    if search:
        entries = entries.filter(
            Q(instruction__icontains=search)
            | Q(context__icontains=search)
            | Q(response__icontains=search)
        )
    return entries


def entry_list_for_author(
    *,
    author: AbstractBaseUser,
    status: str | None = None,
    category: Category | None = None,
    search: str = "",
) -> QuerySet:
    entries = _entries_of_author(author=author, category=category, search=search)
    if status:
        entries = entries.filter(status=status)
    return entries.select_related("category").order_by("-updated_at", "-id")


def entry_drafts_in_category(*, author: AbstractBaseUser, category: Category) -> QuerySet:
    """The author's unfinished drafts in `category`, the latest change first (offered when they
    open the category to write again)."""
    return entry_list_for_author(author=author, status=EntryStatus.DRAFT, category=category)


def entry_get_for_author(*, author: AbstractBaseUser, entry_id: int) -> Entry:
    """The author's own entry; anyone else's is reported as missing (Entry.DoesNotExist)."""
    return Entry.objects.select_related("category").get(pk=entry_id, author=author)


def entry_counts_by_status(
    *, author: AbstractBaseUser, category: Category | None = None, search: str = ""
) -> dict[str, int]:
    """How many of the author's entries (in `category`, matching `search`) are in each state."""
    entries = _entries_of_author(author=author, category=category, search=search)
    rows = entries.order_by().values("status").annotate(n=Count("id"))
    counts = {status: 0 for status in EntryStatus.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


# --- Review ----------------------------------------------------------------------------------


def review_queue(
    *,
    reviewer: AbstractBaseUser,
    category: Category | None = None,
    now: datetime.datetime | None = None,
) -> QuerySet:
    """Entries `reviewer` may be handed: under review, not theirs, not reviewed or skipped by them,
    not leased to someone else, and without a blocking flag a moderator confirmed (holds.py).
    Fewest reviews in the current round first, then oldest."""
    now = now or timezone.now()
    entries = (
        Entry.objects.filter(status=EntryStatus.SUBMITTED)
        .exclude(author=reviewer)
        .exclude(holds.judged_blocking())
        .filter(~Exists(Review.objects.filter(entry=OuterRef("pk"), reviewer=reviewer)))
        .filter(~Exists(ReviewSkip.objects.filter(entry=OuterRef("pk"), reviewer=reviewer)))
        .filter(
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now) | Q(leased_to=reviewer)
        )
    )
    if category is not None:
        entries = entries.filter(category=category)
    return entries.order_by("review_count", "submitted_at", "id")


def review_queue_size(*, reviewer: AbstractBaseUser) -> int:
    return review_queue(reviewer=reviewer).count()


def entry_get_visible(*, viewer: AbstractBaseUser, entry_id: int) -> Entry:
    """An entry `viewer` may read (entries_visible_to); any other is reported as missing
    (Entry.DoesNotExist), exactly like an id that was never used."""
    return entries_visible_to(viewer=viewer).select_related("category", "author").get(pk=entry_id)


def review_get(*, entry: Entry, reviewer: AbstractBaseUser) -> Review | None:
    return Review.objects.filter(entry=entry, reviewer=reviewer).first()


def revision_latest_number(*, entry: Entry) -> int:
    """The number of the entry's latest revision, as stored now (0 when it has none)."""
    return Entry.objects.filter(pk=entry.pk).values_list("revision_count", flat=True).get()


def revision_text(*, entry: Entry, number: int) -> dict[str, str]:
    """The text of one revision (the entry's current text if it has none by that number)."""
    revision = Revision.objects.filter(entry=entry, number=number).first()
    source = revision or entry
    return {name: getattr(source, name) for name in TEXT_FIELDS}


def round_reviews(*, entry: Entry) -> QuerySet:
    """The current round's reviews, with reviewers, for moderators weighing a split vote."""
    return Review.objects.filter(entry=entry, round=entry.review_round).select_related("reviewer")


def _decided_rounds(entry: Entry) -> set[int]:
    return set(Decision.objects.filter(entry=entry).values_list("round", flat=True))


def revision_list_for_author(*, entry: Entry) -> list[Revision]:
    """The entry's history as its author may see it: a reviewer's fix shows up only once its
    round is decided (until then it would give an approval away)."""
    decided = _decided_rounds(entry)
    return [
        revision
        for revision in Revision.objects.filter(entry=entry)
        .select_related("fixed_in_review")
        .order_by("number")
        if not hasattr(revision, "fixed_in_review") or revision.fixed_in_review.round in decided
    ]


def revision_for_author(*, entry: Entry, number: int) -> Revision | None:
    """One revision of the entry, if its author may see it (revision_list_for_author)."""
    return next((r for r in revision_list_for_author(entry=entry) if r.number == number), None)


def draft_version(*, entry: Entry) -> str:
    """The draft's version as the writing page carries it: the time of its last save, which
    every save moves on (entry_update refuses a save made from an older one)."""
    return entry.updated_at.isoformat()


def entry_text_for_author(*, entry: Entry) -> dict[str, str]:
    """The text the author sees: while a round is open, their own latest text, not a fix."""
    visible = revision_list_for_author(entry=entry)
    if not visible or visible[-1].number == revision_latest_number(entry=entry):
        return {name: getattr(entry, name) for name in ENTRY_FIELDS}
    return {name: getattr(visible[-1], name) for name in ENTRY_FIELDS}


@dataclass
class RoundFeedback:
    """What the author learns from one decided review round."""

    round: int
    decision: Decision
    reviews: list[Review] = field(default_factory=list)


@dataclass(frozen=True)
class FixDiff:
    field: str
    diff: TextDiff


def _fix_diffs(fix: Revision, before: Revision | None) -> list[FixDiff]:
    diffs = []
    for name in TEXT_FIELDS:
        old = getattr(before, name, "") if before else ""
        new = getattr(fix, name)
        if old != new:
            diffs.append(FixDiff(field=name, diff=text_diff(old, new)))
    return diffs


def entry_feedback_many(*, entries) -> dict[int, list[RoundFeedback]]:
    """The author's view of review, for many entries in four queries: every decided round with
    its reviews (each with the diff of its fix, if any), newest round first.

    Reviews of a round still open stay hidden until it is decided, so that authors cannot
    react to partial votes. Reviewers are not named.
    """
    ids = [entry.pk for entry in entries]
    feedback: dict[int, dict[int, RoundFeedback]] = {pk: {} for pk in ids}
    for decision in Decision.objects.filter(entry_id__in=ids):
        feedback[decision.entry_id][decision.round] = RoundFeedback(decision.round, decision)
    reviews = [
        review
        for review in Review.objects.filter(entry_id__in=ids)
        .select_related("fix")
        .order_by("created_at", "id")
        if review.round in feedback[review.entry_id]
    ]
    fixed_entries = {review.entry_id for review in reviews if review.fix is not None}
    history: dict[int, list[Revision]] = {}
    for revision in Revision.objects.filter(entry_id__in=fixed_entries).order_by("number"):
        history.setdefault(revision.entry_id, []).append(revision)
    for review in reviews:
        review.fix_diffs = []
        if review.fix is not None:
            earlier = [r for r in history[review.entry_id] if r.number < review.fix.number]
            review.fix_diffs = _fix_diffs(review.fix, earlier[-1] if earlier else None)
        feedback[review.entry_id][review.round].reviews.append(review)
    return {
        pk: [rounds[r] for r in sorted(rounds, reverse=True)] for pk, rounds in feedback.items()
    }


def entry_feedback(*, entry: Entry) -> list[RoundFeedback]:
    return entry_feedback_many(entries=[entry])[entry.pk]


@dataclass(frozen=True)
class ReviewerAgreement:
    decided: int
    agreed: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.decided if self.decided else None


def reviewer_agreement(*, reviewer: AbstractBaseUser) -> ReviewerAgreement:
    """How often the reviewer's verdicts matched the decision of their round (decided rounds only).

    An approval agrees with an acceptance and a rejection with a rejection, whoever decided.
    """
    decision = Decision.objects.filter(entry=OuterRef("entry"), round=OuterRef("round"))
    reviews = Review.objects.filter(reviewer=reviewer).annotate(
        outcome=decision.values("outcome")[:1]
    )
    decided = reviews.filter(outcome__isnull=False)
    agreed = decided.filter(
        Q(verdict=Verdict.APPROVE, outcome=Outcome.ACCEPTED)
        | Q(verdict=Verdict.REJECT, outcome=Outcome.REJECTED)
    )
    return ReviewerAgreement(decided=decided.count(), agreed=agreed.count())


def company_day(
    *, now: datetime.datetime | None = None
) -> tuple[datetime.datetime, datetime.datetime]:
    """Where today begins and ends in the company's time zone (settings.TIME_ZONE): midnight to
    midnight on the wall clock, so a day of a daylight-saving change is 23 or 25 hours long."""
    zone = timezone.get_default_timezone()
    today = timezone.localtime(now or timezone.now(), zone).date()
    start = datetime.datetime.combine(today, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(
        today + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )
    return start, end


def reviews_today(*, reviewer: AbstractBaseUser, now: datetime.datetime | None = None) -> int:
    """How many reviews `reviewer` recorded today, in the company's time zone."""
    start, end = company_day(now=now)
    return Review.objects.filter(
        reviewer=reviewer, created_at__gte=start, created_at__lt=end
    ).count()


def _under_review() -> QuerySet:
    """Entries under review with their current round's approvals and rejections counted."""
    return (
        Entry.objects.filter(status=EntryStatus.SUBMITTED)
        .select_related("category", "author")
        .annotate(
            approvals=Count(
                "reviews",
                filter=Q(reviews__round=F("review_round"), reviews__verdict=Verdict.APPROVE),
            ),
            rejections=Count(
                "reviews",
                filter=Q(reviews__round=F("review_round"), reviews__verdict=Verdict.REJECT),
            ),
        )
    )


def moderation_split_votes() -> QuerySet:
    """Entries under review whose current round has both approvals and rejections."""
    return _under_review().filter(approvals__gt=0, rejections__gt=0).order_by("submitted_at")


def moderation_stale(*, now: datetime.datetime | None = None) -> QuerySet:
    """Entries under review for longer than FLOCK_REVIEW_STALE_HOURS."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(hours=settings.FLOCK_REVIEW_STALE_HOURS)
    return _under_review().filter(submitted_at__lte=cutoff).order_by("submitted_at")


# --- Flags -----------------------------------------------------------------------------------


def flags_for_entry(*, entry: Entry) -> QuerySet:
    """An entry's flags; the caller got the entry from a look-up that checked who may read it."""
    return Flag.objects.filter(entry=entry).select_related("duplicate_of", "resolved_by")


def flags_visible_to(*, viewer: AbstractBaseUser) -> QuerySet:
    """The flags `viewer` may read: those on the entries they may read (flags follow their
    entry, entries_visible_to)."""
    return Flag.objects.filter(entry__in=entries_visible_to(viewer=viewer))


def flag_list(*, viewer: AbstractBaseUser, status: str | None = None) -> QuerySet:
    """The flags `viewer` may read, blocking first."""
    flags = flags_visible_to(viewer=viewer).select_related(
        "entry__category", "duplicate_of", "resolved_by"
    )
    if status:
        flags = flags.filter(status=status)
    return flags.order_by("-blocking", "created_at", "id")


def flag_get_visible(*, viewer: AbstractBaseUser, flag_id: int) -> Flag:
    """A flag on an entry `viewer` may read; any other is reported as missing (Flag.DoesNotExist)."""
    return flag_list(viewer=viewer).get(pk=flag_id)


def api_tokens_of(*, user: AbstractBaseUser) -> QuerySet:
    """The user's API tokens, newest first (expired ones too, until revoked or replaced)."""
    return ApiToken.objects.filter(user=user)


def api_token_get_for_owner(*, owner: AbstractBaseUser, token_id: int) -> ApiToken:
    """One of `owner`'s tokens; anyone else's is reported as missing (ApiToken.DoesNotExist)."""
    return api_tokens_of(user=owner).get(pk=token_id)


# --- Notifications ---------------------------------------------------------------------------


def notifications_of(*, user: AbstractBaseUser) -> QuerySet[Notification]:
    """The user's notifications, newest first (nobody else's, ever)."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def notifications_unread_count(*, user: AbstractBaseUser) -> int:
    """How many of the user's notifications are unread: the menu's badge (one small query)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def users_choosing_email(*, user_ids: list[int], choice: str) -> set[int]:
    """Which of these users chose `choice` for their notification e-mails (a missing profile
    counts as the default choice)."""
    chosen = dict(
        Profile.objects.filter(user_id__in=user_ids).values_list("user_id", "email_notifications")
    )
    default = Profile._meta.get_field("email_notifications").default
    return {uid for uid in user_ids if chosen.get(uid, default) == choice}


def digest_recipients(*, until: datetime.datetime) -> list[int]:
    """The active users who chose the daily digest (or left the default, if it is the digest)
    and have notifications not yet mailed, made up to `until`."""
    default = Profile._meta.get_field("email_notifications").default
    chose = Q(profile__email_notifications=EmailChoice.DIGEST)
    if default == EmailChoice.DIGEST:
        chose |= Q(profile__isnull=True)
    waiting = Notification.objects.filter(
        recipient=OuterRef("pk"), emailed_at__isnull=True, created_at__lte=until
    )
    return list(
        get_user_model()
        .objects.filter(chose, Exists(waiting), is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
