import datetime
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from annotation import holds
from annotation.diff import TextDiff, text_diff
from annotation.models import (
    OUTCOME_OF_VERDICT,
    AgreementAcceptance,
    ApiToken,
    Category,
    ContributorAgreement,
    Decision,
    EmailChoice,
    Entry,
    EntryStatus,
    Flag,
    FlagStatus,
    GoldEntry,
    GoldReview,
    Notification,
    Overturn,
    OverturnVerdict,
    Profile,
    ReleaseRemoval,
    RemovalReason,
    Review,
    ReviewSkip,
    Revision,
    Verdict,
    person_name,
)
from annotation.roles import is_admin, is_moderator
from annotation.text import ENTRY_FIELDS, TEXT_FIELDS
from config.caching import forget, remembered

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


def counts_toward_target(prefix: str = "") -> Q:
    """The accepted entries that count toward their category's target: the drive's own work.
    Imported corpora are not: they do not count. `prefix` reaches entries through a relation
    (`"entries__"` from a category)."""
    return Q(**{f"{prefix}status": EntryStatus.ACCEPTED, f"{prefix}source__isnull": True})


# The one GROUP BY over every entry behind the writing and review pages' progress: at a million
# entries it takes about half a second, so the site computes it at most once every
# FLOCK_CATEGORY_COUNTS_SECONDS (Django's cache: shared through Redis when REDIS_URL is set).
CATEGORY_COUNTS_KEY = "category-counts"


def _category_counts() -> dict[int, tuple[int, int]]:
    rows = (
        Category.objects.filter(is_active=True)
        .annotate(
            accepted_count=Count("entries", filter=counts_toward_target("entries__")),
            submitted_count=Count("entries", filter=Q(entries__status=EntryStatus.SUBMITTED)),
        )
        .values_list("pk", "accepted_count", "submitted_count")
    )
    return {pk: (accepted, submitted) for pk, accepted, submitted in rows}


def category_counts() -> dict[int, tuple[int, int]]:
    """(accepted that count toward the target, under review) per active category's id, as of
    at most FLOCK_CATEGORY_COUNTS_SECONDS ago (0: now). With the cache unreachable they are
    counted for the request."""
    return remembered(CATEGORY_COUNTS_KEY, settings.FLOCK_CATEGORY_COUNTS_SECONDS, _category_counts)


def category_counts_forget() -> None:
    """Drop the cached counts: the next page counts again."""
    forget(CATEGORY_COUNTS_KEY)


def category_list_with_progress() -> list[Category]:
    """Active categories with accepted/submitted counts, those furthest from their target first.

    Each category gets `accepted_count`, `submitted_count` (category_counts: up to
    FLOCK_CATEGORY_COUNTS_SECONDS old), `remaining` (target minus accepted and in review, never
    below zero) and `progress_percent` (accepted share of the target).
    """
    counts = category_counts()
    categories = list(Category.objects.filter(is_active=True))
    for category in categories:
        category.accepted_count, category.submitted_count = counts.get(category.pk, (0, 0))
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
    - A decided entry handed to a reviewer as gold (services/gold.py) is theirs to read while
      they hold it and after they answered it, as any entry they were handed or reviewed.

    Anyone else gets a 404 through annotation/lookups.py, as for an id never used, so ids reveal
    nothing. Flags follow their entry (flag_list, flag_get_visible).
    """
    if viewer is None or not viewer.is_authenticated:
        return Entry.objects.none()
    own = Q(author=viewer)
    if is_moderator(viewer):
        return Entry.objects.filter(own | ~Q(status=EntryStatus.DRAFT))
    reviewed = Exists(Review.objects.filter(entry=OuterRef("pk"), reviewer=viewer))
    handed_gold = Exists(gold_hand_outs(reviewer=viewer).filter(gold__entry=OuterRef("pk")))
    shared = Q(status__in=REVIEWED_STATUSES) & (Q(leased_to=viewer) | reviewed | handed_gold)
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
    """Entries `reviewer` may be handed: under review, not theirs, not reviewed or skipped by them
    (nor seen by them as gold), not leased to someone else, and without a blocking flag a
    moderator confirmed (holds.py). Fewest reviews in the current round first, then oldest."""
    now = now or timezone.now()
    entries = (
        Entry.objects.filter(status=EntryStatus.SUBMITTED)
        .exclude(author=reviewer)
        .exclude(holds.judged_blocking())
        .filter(~Exists(Review.objects.filter(entry=OuterRef("pk"), reviewer=reviewer)))
        .filter(~Exists(ReviewSkip.objects.filter(entry=OuterRef("pk"), reviewer=reviewer)))
        .filter(~Exists(GoldReview.objects.filter(gold__entry=OuterRef("pk"), reviewer=reviewer)))
        .filter(
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now) | Q(leased_to=reviewer)
        )
    )
    if category is not None:
        entries = entries.filter(category=category)
    return entries.order_by("review_count", "submitted_at", "id")


def review_queue_size(*, reviewer: AbstractBaseUser) -> int:
    return review_queue(reviewer=reviewer).count()


def _visible_by_its_row(*, entry: Entry, viewer: AbstractBaseUser) -> bool:
    """The cases of entries_visible_to that the entry's own row answers: its author, a
    moderator for anything but a draft, the reviewer holding it from the queue. True only when
    the rule grants it; False means "ask the rule" (it may still be a reviewer's or gold's).
    The review pages' usual reader is the one holding the entry, so the rule's query, the
    costliest part of those requests to build, is seldom needed."""
    if entry.author_id == viewer.pk:
        return True
    if is_moderator(viewer):
        return entry.status != EntryStatus.DRAFT
    return entry.status in REVIEWED_STATUSES and entry.leased_to_id == viewer.pk


def entry_get_visible(*, viewer: AbstractBaseUser, entry_id: int) -> Entry:
    """An entry `viewer` may read (entries_visible_to); any other is reported as missing
    (Entry.DoesNotExist), exactly like an id that was never used."""
    if viewer is None or not viewer.is_authenticated:
        raise Entry.DoesNotExist
    entry = Entry.objects.select_related("category", "author").get(pk=entry_id)
    if _visible_by_its_row(entry=entry, viewer=viewer):
        return entry
    if entries_visible_to(viewer=viewer).filter(pk=entry_id).exists():
        return entry
    raise Entry.DoesNotExist


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


def decisions_current(*, as_of: datetime.datetime | None = None) -> QuerySet:
    """The decisions that stand: every "how did this round end" look-up reads these.

    A decision a moderator overturned (Overturn) no longer stands; the decision that replaced
    it does (or, after a reopen, none until the new round ends). With `as_of`, the decisions
    that stood at that moment: made before it and not yet overturned then, so that scoring
    computed "as of a decision" gives the same answer when replayed later.

    Written as NOT EXISTS rather than a LEFT JOIN … IS NULL: PostgreSQL plans it as an anti-join,
    where the join (with few or no overturns) became a nested loop over every decision.
    """
    overturns = Overturn.objects.filter(decision=OuterRef("pk"))
    if as_of is None:
        return Decision.objects.filter(~Exists(overturns))
    return Decision.objects.filter(created_at__lt=as_of).filter(
        ~Exists(overturns.filter(created_at__lt=as_of))
    )


def decision_current(*, entry: Entry) -> Decision | None:
    """The decision the entry stands on: its latest, unless a moderator overturned it (then
    the entry is back under review); None for an entry never decided here (an import)."""
    latest = Decision.objects.filter(entry=entry).order_by("-pk").first()
    if latest is None or not decisions_current().filter(pk=latest.pk).exists():
        return None
    return latest


def _decided_rounds(entry: Entry) -> set[int]:
    # Rounds that were ever decided, overturned or not: once decided, a round's reviews (and
    # fixes) were shown to the author, and a later overturn does not hide them again.
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
    """What the author learns from one decided review round: how it ended (its latest
    decision) and, where a moderator overturned the round's outcome, why."""

    round: int
    decision: Decision
    reviews: list[Review] = field(default_factory=list)

    @property
    def reopened(self) -> Overturn | None:
        """The moderator's reopening of this round's decision: it no longer stands, and the
        entry went back under review in a new round."""
        overturn = getattr(self.decision, "overturned_by", None)
        reopen = overturn is not None and overturn.verdict == OverturnVerdict.REOPEN
        return overturn if reopen else None

    @property
    def overturn(self) -> Overturn | None:
        """The moderator's overturn that made this decision, replacing the round's earlier one."""
        return self.decision.overturn


@dataclass(frozen=True)
class FixDiff:
    field: str
    diff: TextDiff


def _fix_diffs(fix: Revision, before: Revision | None) -> list[FixDiff]:
    if not any(getattr(fix, name) for name in TEXT_FIELDS):
        return []  # erased with its reviewer's data (services.erasure): nothing to show
    diffs = []
    for name in TEXT_FIELDS:
        old = getattr(before, name, "") if before else ""
        new = getattr(fix, name)
        if old != new:
            diffs.append(FixDiff(field=name, diff=text_diff(old, new)))
    return diffs


def entry_feedback_many(*, entries) -> dict[int, list[RoundFeedback]]:
    """The author's view of review, for many entries in four queries: every decided round with
    its reviews (each with the diff of its fix, if any) and any moderator's overturn, newest
    round first.

    Reviews of a round still open stay hidden until it is decided, so that authors cannot
    react to partial votes. Reviewers are not named.
    """
    ids = [entry.pk for entry in entries]
    feedback: dict[int, dict[int, RoundFeedback]] = {pk: {} for pk in ids}
    # In order, so that a round's latest decision (an overturn's, say) is the one kept.
    decisions = Decision.objects.filter(entry_id__in=ids).order_by("entry", "round", "pk")
    for decision in decisions.select_related("overturn__decision", "overturned_by"):
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


def feedback_decision_standing(feedback: list[RoundFeedback]) -> Decision | None:
    """The decision the entry stands on, read from its feedback (no query): the newest round's
    latest decision, unless a moderator reopened it since (decisions_current's rule: then
    none stands until the new round is decided)."""
    if not feedback:
        return None
    decision = feedback[0].decision
    return None if getattr(decision, "overturned_by", None) is not None else decision


def feedback_latest_overturn(feedback: list[RoundFeedback]) -> Overturn | None:
    """A moderator's latest overturn of the entry, from its feedback (newest round first):
    within a round, the overturn of its latest decision (a reopen) came after the one that
    made that decision; an older round's overturns came before any newer round existed."""
    for rnd in feedback:
        for overturn in (getattr(rnd.decision, "overturned_by", None), rnd.decision.overturn):
            if overturn is not None:
                return overturn
    return None


@dataclass(frozen=True)
class ReviewerAgreement:
    decided: int
    agreed: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.decided if self.decided else None


def verdict_agrees(*, verdict: str = "verdict", outcome: str = "outcome") -> Q:
    """Rows whose `verdict` agrees with their `outcome` (models.OUTCOME_OF_VERDICT)."""
    agrees = Q(pk__in=[])
    for given, outcome_agreeing in OUTCOME_OF_VERDICT.items():
        agrees |= Q(**{verdict: given, outcome: outcome_agreeing})
    return agrees


def reviewer_agreement(*, reviewer: AbstractBaseUser) -> ReviewerAgreement:
    """How often the reviewer's verdicts matched the decision of their round (decided rounds only).

    An approval agrees with an acceptance and a rejection with a rejection, whoever decided;
    a round a moderator overturned is judged by the decision that replaced it, and a reopened
    one is not decided.
    """
    decision = decisions_current().filter(entry=OuterRef("entry"), round=OuterRef("round"))
    reviews = Review.objects.filter(reviewer=reviewer).annotate(
        outcome=decision.values("outcome")[:1]
    )
    decided = reviews.filter(outcome__isnull=False)
    agreed = decided.filter(verdict_agrees())
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
    """How many reviews `reviewer` recorded today, in the company's time zone (answers to gold
    entries too: to the reviewer they are reviews like any other)."""
    start, end = company_day(now=now)
    reviews = Review.objects.filter(reviewer=reviewer, created_at__gte=start, created_at__lt=end)
    gold = GoldReview.objects.filter(reviewer=reviewer, answered_at__gte=start, answered_at__lt=end)
    return reviews.count() + gold.count()


def votes_counting(prefix: str = "") -> Q:
    """Which reviews are votes that count: those given while the reviewer's gold accuracy was good
    (Review.counts). The one rule for consensus (services.reviews), points (leaderboard) and the
    moderators' split-vote and stale lists; `prefix` reaches reviews through a relation
    (`"reviews__"` from an entry)."""
    return Q(**{f"{prefix}counts": True})


def _under_review() -> QuerySet:
    """Entries under review with their current round's approvals and rejections counted (votes
    that count only: see votes_counting)."""
    this_round = Q(reviews__round=F("review_round")) & votes_counting("reviews__")
    return (
        Entry.objects.filter(status=EntryStatus.SUBMITTED)
        .select_related("category", "author")
        .annotate(
            approvals=Count("reviews", filter=this_round & Q(reviews__verdict=Verdict.APPROVE)),
            rejections=Count("reviews", filter=this_round & Q(reviews__verdict=Verdict.REJECT)),
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


def _company_midnight(day: datetime.date) -> datetime.datetime:
    """The moment `day` begins in the company's time zone (settings.TIME_ZONE)."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_default_timezone())


def text_contains(search: str) -> Q:
    """Entries whose instruction, context or response contains `search`, ignoring case.

    On PostgreSQL the test is a case-insensitive regular expression of the escaped words
    (`column ~* 'words'`): it folds case while matching instead of upper-casing a copy of every
    text as `icontains` does (about a third less time on 150,000 entries, docs/moderation.md),
    and a pg_trgm GIN index on the columns, should the table get one, serves it as it is."""
    if connection.vendor == "postgresql":
        lookup, value = "iregex", re.escape(search)
    else:
        lookup, value = "icontains", search
    return (
        Q(**{f"instruction__{lookup}": value})
        | Q(**{f"context__{lookup}": value})
        | Q(**{f"response__{lookup}": value})
    )


def moderation_entries(
    *,
    moderator: AbstractBaseUser,
    search: str = "",
    category: Category | None = None,
    status: str | None = None,
    flag_kind: str | None = None,
    flag_status: str | None = None,
    author: str = "",
    team=None,
    submitted_from: datetime.date | None = None,
    submitted_to: datetime.date | None = None,
) -> QuerySet:
    """The moderation workbench's list: entries the moderator may read (never a draft), newest
    submission first, narrowed by every filter given.

    `flag_kind` and `flag_status` ask for entries having one flag with both; `author` is a
    username or display name (either, ignoring case); `submitted_from`/`submitted_to` are days
    in the company's time zone, both included. Each row carries `open_flags`.
    """
    entries = entries_visible_to(viewer=moderator).exclude(status=EntryStatus.DRAFT)
    if search:
        entries = entries.filter(text_contains(search))
    if category is not None:
        entries = entries.filter(category=category)
    if status:
        entries = entries.filter(status=status)
    if flag_kind or flag_status:
        flags = Flag.objects.filter(entry=OuterRef("pk"))
        flags = flags.filter(kind=flag_kind) if flag_kind else flags
        flags = flags.filter(status=flag_status) if flag_status else flags
        entries = entries.filter(Exists(flags))
    if author:
        entries = entries.filter(
            Q(author__username__iexact=author) | Q(author__profile__display_name__iexact=author)
        )
    if team is not None:
        entries = entries.filter(author__profile__team=team)
    if submitted_from is not None:
        entries = entries.filter(submitted_at__gte=_company_midnight(submitted_from))
    if submitted_to is not None:
        next_day = submitted_to + datetime.timedelta(days=1)
        entries = entries.filter(submitted_at__lt=_company_midnight(next_day))
    open_flags = Flag.objects.filter(status=FlagStatus.OPEN).order_by("kind", "id")
    return (
        entries.select_related("category", "source", "author__profile__team")
        .prefetch_related(Prefetch("flags", queryset=open_flags, to_attr="open_flags"))
        .order_by("-submitted_at", "-id")
    )


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


# --- Gold entries: reviewer calibration (services/gold.py) -----------------------------------


def gold_hand_outs(*, reviewer: AbstractBaseUser) -> QuerySet:
    """The gold hand-outs `reviewer` holds or answered (not those skipped or taken back): their
    entries are the reviewer's to read (entries_visible_to)."""
    return GoldReview.objects.filter(reviewer=reviewer, skipped_at__isnull=True)


def gold_handable() -> Q:
    """Which gold entries may be handed out (a filter on GoldEntry): still marked, their text as it
    was when marked, and still decided the way the mark says (approve: accepted, reject:
    rejected), so that the known answer holds; an overturn that flips the outcome, or reopens
    the entry, stops it."""
    agrees = verdict_agrees(verdict="expected", outcome="entry__status")
    return Q(is_active=True, revision=F("entry__revision_count")) & agrees


def gold_is_handable(*, gold: GoldEntry) -> bool:
    return GoldEntry.objects.filter(gold_handable(), pk=gold.pk).exists()


def gold_candidates(*, reviewer: AbstractBaseUser, category: Category | None = None) -> QuerySet:
    """The gold entries `reviewer` may be handed (in `category`): handable, not written or marked
    by them, and never seen by them: not reviewed, skipped or held in review, nor handed to them
    as gold before. Ordered by id, so that a seeded draw picks the same one again.
    Never moderators: their verdicts are not gated, and their page of a gold hand-out would
    lack the moderators' sections, which would give it away."""
    if is_moderator(reviewer):
        return GoldEntry.objects.none()
    entry = OuterRef("entry")
    candidates = (
        GoldEntry.objects.filter(gold_handable())
        .exclude(entry__author=reviewer)
        .exclude(marked_by=reviewer)
        .exclude(entry__leased_to=reviewer)
        .filter(~Exists(Review.objects.filter(entry=entry, reviewer=reviewer)))
        .filter(~Exists(ReviewSkip.objects.filter(entry=entry, reviewer=reviewer)))
        .filter(~Exists(GoldReview.objects.filter(gold=OuterRef("pk"), reviewer=reviewer)))
    )
    if category is not None:
        candidates = candidates.filter(entry__category=category)
    return candidates.order_by("pk")


def gold_mark_of(*, entry: Entry) -> GoldEntry | None:
    """The entry's gold mark (active or lifted), with how often it was answered and caught, for
    the moderators' form on its review page."""
    return (
        GoldEntry.objects.filter(entry=entry)
        .annotate(
            answered=Count("answers", filter=Q(answers__caught__isnull=False)),
            caught=Count("answers", filter=Q(answers__caught=True)),
        )
        .first()
    )


def gold_pending(*, reviewer: AbstractBaseUser) -> GoldReview | None:
    """The gold entry handed to `reviewer` that they have neither answered nor skipped.

    Asked at every "Review next", and most reviewers hold none: its id is looked up first, since
    the hand-out with its gold, entry and category took longer to build than to run."""
    pending = GoldReview.objects.filter(
        reviewer=reviewer, answered_at__isnull=True, skipped_at__isnull=True
    )
    held = pending.values_list("pk", flat=True).first()
    if held is None:
        return None
    return pending.select_related("gold__entry__category").filter(pk=held).first()


def gold_hand_out_of(*, viewer: AbstractBaseUser, entry: Entry) -> GoldReview | None:
    """`viewer`'s gold hand-out of `entry` (held or answered), if it reached them as gold: the
    pages and the API then show it as any entry under review (entry_as_handed)."""
    if viewer is None or not viewer.is_authenticated:
        return None
    return gold_hand_outs(reviewer=viewer).filter(gold__entry=entry).select_related("gold").first()


def entry_as_handed(*, entry: Entry, hand_out: GoldReview) -> Entry:
    """`entry` dressed as the review queue hands out an entry, for a gold hand-out: under review,
    no reviews yet, held by the reviewer for a lease's length from when it was last handed to
    them (`handed_at`, renewed by each "review next" that hands it back, as a held lease is).
    Only the in-memory copy changes (never save it), so a gold entry looks like any other."""
    entry.status = EntryStatus.SUBMITTED
    entry.review_count = 0
    entry.decided_at = None
    entry.leased_to_id = hand_out.reviewer_id
    lease = datetime.timedelta(minutes=settings.FLOCK_REVIEW_LEASE_MINUTES)
    entry.lease_expires_at = hand_out.handed_at + lease
    return entry


def flags_shown_to(*, viewer: AbstractBaseUser, entry: Entry) -> QuerySet:
    """The entry's flags as its review page and the API show them to `viewer`: none on a gold
    hand-out (a decided entry's flags would give it away), all of them otherwise."""
    if gold_hand_out_of(viewer=viewer, entry=entry) is not None:
        return Flag.objects.none()
    return flags_for_entry(entry=entry)


@dataclass(frozen=True)
class GoldRecord:
    """A reviewer's answers to gold entries: caught (the known verdict, and for a known-bad
    entry one of its reasons) or missed. Skipped hand-outs, and answers to an entry whose
    mark lapsed while the reviewer held it, count neither way."""

    caught: int
    missed: int

    @property
    def answered(self) -> int:
        return self.caught + self.missed

    @property
    def accuracy(self) -> float | None:
        return self.caught / self.answered if self.answered else None


def gold_record(*, reviewer: AbstractBaseUser) -> GoldRecord:
    counts = GoldReview.objects.filter(reviewer=reviewer).aggregate(
        caught_n=Count("pk", filter=Q(caught=True)), missed_n=Count("pk", filter=Q(caught=False))
    )
    return GoldRecord(caught=counts["caught_n"], missed=counts["missed_n"])


def _in_good_standing(record: GoldRecord) -> bool:
    if record.answered < settings.FLOCK_GOLD_MIN_REVIEWS:
        return True
    return record.accuracy >= settings.FLOCK_GOLD_MIN_ACCURACY


def reviewer_in_good_standing(*, reviewer: AbstractBaseUser) -> bool:
    """Whether `reviewer`'s verdicts count toward consensus and earn review points: always until
    they answered FLOCK_GOLD_MIN_REVIEWS gold entries (too few to judge), then while their gold
    accuracy is at least FLOCK_GOLD_MIN_ACCURACY. Read as each review is recorded
    (Review.counts), so a later change of standing does not rewrite past rounds."""
    return _in_good_standing(gold_record(reviewer=reviewer))


def gold_accuracy_table() -> list[dict]:
    """Every reviewer with a scored gold answer, least accurate first (then most answers first,
    then name), for the drive dashboard. Each row is a dict with the keys:

    - `reviewer_id` (int) and `name` (display name, or the username when there is none);
    - `answered`, `caught`, `missed` (ints: answered = caught + missed);
    - `accuracy` (float 0..1, caught / answered);
    - `in_good_standing` (bool: whether their verdicts count now, reviewer_in_good_standing).
    """
    rows = (
        GoldReview.objects.filter(caught__isnull=False)
        .values("reviewer_id", "reviewer__username", "reviewer__profile__display_name")
        .annotate(
            caught_n=Count("pk", filter=Q(caught=True)),
            missed_n=Count("pk", filter=Q(caught=False)),
        )
        .order_by()
    )
    table = []
    for row in rows:
        record = GoldRecord(caught=row["caught_n"], missed=row["missed_n"])
        table.append(
            {
                "reviewer_id": row["reviewer_id"],
                "name": person_name(
                    row["reviewer__profile__display_name"], row["reviewer__username"]
                ),
                "answered": record.answered,
                "caught": record.caught,
                "missed": record.missed,
                "accuracy": record.accuracy,
                "in_good_standing": _in_good_standing(record),
            }
        )
    table.sort(key=lambda r: (r["accuracy"], -r["answered"], r["name"].casefold()))
    return table


def erased() -> Q:
    """Which entries were erased with their author's data (a filter on Entry; services.erasure):
    their text is gone, so nobody reviews, marks, overturns, indexes or releases them again.
    The one home of that rule: `erased_entries` and `entry_is_erased` are its twins."""
    return Q(release_removal__reason=RemovalReason.ERASED)


def erased_entries() -> QuerySet:
    """The entries erased with their author's data (see `erased`)."""
    return Entry.objects.filter(erased())


def entry_is_erased(*, entry: Entry) -> bool:
    return erased_entries().filter(pk=entry.pk).exists()


def release_removal_of(*, entry: Entry) -> ReleaseRemoval | None:
    """The entry's removal from future releases (withdrawn or erased), or None."""
    return ReleaseRemoval.objects.filter(entry=entry).first()


def entry_get_for_release_withdrawal(*, actor: AbstractBaseUser, entry_id: int) -> Entry:
    """An entry `actor` may ask to withdraw from releases, or may be told they may not: for an
    admin any entry but someone else's draft (a draft is its author's alone); for anyone else
    an entry they may read (entries_visible_to). Others are missing (Entry.DoesNotExist)."""
    if is_admin(actor):
        entries = Entry.objects.filter(Q(author=actor) | ~Q(status=EntryStatus.DRAFT))
    else:
        entries = entries_visible_to(viewer=actor)
    return entries.select_related("category").get(pk=entry_id)
