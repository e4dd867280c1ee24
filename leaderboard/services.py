import datetime
import logging
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import dateformat, timezone

from annotation import selectors as annotation_selectors
from annotation.models import (
    VERDICT_OF_OUTCOME,
    Category,
    Decision,
    NotificationKind,
    Outcome,
    Overturn,
    OverturnVerdict,
    Review,
)
from annotation.roles import is_moderator
from annotation.services import notifications_create
from config.celery import enqueue_on_commit
from config.errors import ActionForbidden, StateConflict
from leaderboard import boards, selectors
from leaderboard.models import Contest, ScoreEvent, ScoreKind, Standing

logger = logging.getLogger(__name__)


# --- Contests --------------------------------------------------------------------------------


def _week_window(moment: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime, str]:
    """Monday 00:00 to the next Monday 00:00 in the company's time zone, around `moment`."""
    zone = ZoneInfo(settings.TIME_ZONE)
    local = moment.astimezone(zone)
    monday = (local - datetime.timedelta(days=local.weekday())).date()
    starts = datetime.datetime.combine(monday, datetime.time.min, tzinfo=zone)
    ends = datetime.datetime.combine(
        monday + datetime.timedelta(days=7), datetime.time.min, tzinfo=zone
    )
    year, week, _ = monday.isocalendar()
    return starts, ends, f"{year}-W{week:02d}"


def contest_suggested_window(
    *, now: datetime.datetime | None = None
) -> tuple[datetime.datetime, datetime.datetime]:
    """What a new contest's form proposes: next week, Monday 00:00 to Monday 00:00 company time."""
    starts, ends, _ = _week_window((now or timezone.now()) + datetime.timedelta(days=7))
    return starts, ends


def contest_ensure_week(*, moment: datetime.datetime | None = None) -> Contest | None:
    """The weekly contest around `moment`, made if missing (idempotent: one per ISO week).

    None when weekly contests are off, or when an admin's contest already covers part of that
    week (windows never overlap, so that every entry belongs to one contest).
    """
    if not settings.FLOCK_WEEKLY_CONTESTS:
        return None
    starts, ends, week = _week_window(moment or timezone.now())
    existing = Contest.objects.filter(week=week).first()
    if existing is not None:
        return existing
    if _overlapping(starts, ends).exists():
        # An admin's contest covers part of the week, or a concurrent call made the week's
        # contest since the look-up above (two workers' contest jobs at once did): that one.
        return Contest.objects.filter(week=week).first()
    try:
        with transaction.atomic():
            return Contest.objects.create(
                name=f"Week {int(week[-2:])}, {week[:4]}",
                week=week,
                starts_at=starts,
                ends_at=ends,
                grace_ends_at=ends + datetime.timedelta(hours=settings.FLOCK_CONTEST_GRACE_HOURS),
                prize="The week's top three writers and reviewers are announced company-wide.",
            )
    except IntegrityError:  # made by a concurrent call a moment ago
        return Contest.objects.get(week=week)


def _overlapping(starts: datetime.datetime, ends: datetime.datetime, *, exclude=None):
    return Contest.objects.filter(starts_at__lt=ends, ends_at__gt=starts).exclude(pk=exclude)


def contest_for_moment(moment: datetime.datetime) -> Contest | None:
    """The contest whose submission window holds `moment`, making the weekly one if need be."""
    return selectors.contest_at(moment) or contest_ensure_week(moment=moment)


CONTEST_FIELDS = (
    "name",
    "starts_at",
    "ends_at",
    "grace_ends_at",
    "prize",
    "accepted_points",
    "review_points",
    "short_category_bonus",
    "multipliers",
    "focus_bonus",
    "winner_count",
)


def _require_admin(user: AbstractBaseUser) -> None:
    if not is_moderator(user):
        raise ActionForbidden("Only contest admins can change contests.")


MAX_MULTIPLIER = 100


def _multiplier_errors(multipliers) -> str | None:
    if not isinstance(multipliers, dict):
        return 'Give an object of category slug to multiplier, e.g. {"closed_qa": 2}.'
    known = set(Category.objects.values_list("slug", flat=True))
    for slug, value in multipliers.items():
        if slug not in known:
            return f"{slug!r} is not a category; use one of {', '.join(sorted(known))}."
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"The multiplier for {slug} must be a number."
        if not math.isfinite(value) or not 0 <= value <= MAX_MULTIPLIER:
            return f"The multiplier for {slug} must be between 0 and {MAX_MULTIPLIER}."
    return None


def contest_validate(*, contest: Contest) -> None:
    """A contest's window comes before its grace period and overlaps no other contest; its
    multipliers name real categories with sensible numbers."""
    errors = {}
    if contest.ends_at <= contest.starts_at:
        errors["ends_at"] = "The contest must end after it starts."
    elif contest.grace_ends_at < contest.ends_at:
        errors["grace_ends_at"] = "The review grace period ends after the contest ends."
    else:
        overlapping = _overlapping(contest.starts_at, contest.ends_at, exclude=contest.pk).first()
        if overlapping is not None:
            errors["starts_at"] = (
                f"The window overlaps {overlapping.name}; every entry belongs to one contest."
            )
    problem = _multiplier_errors(contest.multipliers)
    if problem:
        errors["multipliers"] = problem
    if errors:
        raise ValidationError(errors)


def contest_save(
    *, actor: AbstractBaseUser, values: dict, contest: Contest | None = None, focus=None
) -> Contest:
    """Create or edit a contest (admins). A finalised contest's results stay as they were."""
    _require_admin(actor)
    contest = Contest.objects.get(pk=contest.pk) if contest is not None else Contest()
    if contest.is_finalized:
        raise StateConflict("This contest is finalised; its standings are frozen.")
    window = ("starts_at", "ends_at")
    moved = any(name in values and values[name] != getattr(contest, name) for name in window)
    if contest.pk and moved and contest.score_events.exists():
        raise ValidationError(
            {"starts_at": "Points were already scored in this window; it can no longer move."}
        )
    for name in CONTEST_FIELDS:
        if name in values:
            setattr(contest, name, values[name])
    if contest.grace_ends_at is None and contest.ends_at is not None:
        contest.grace_ends_at = contest.ends_at + datetime.timedelta(
            hours=settings.FLOCK_CONTEST_GRACE_HOURS
        )
    contest_validate(contest=contest)
    with transaction.atomic():
        contest.save()
        if focus is not None:
            contest.focus_categories.set(focus)
    return contest


def _is_winner(row, contest: Contest) -> bool:
    return row.rank <= contest.winner_count and row.points > 0


def contest_finalize(
    *,
    contest: Contest,
    actor: AbstractBaseUser | None = None,
    now: datetime.datetime | None = None,
) -> Contest:
    """Freeze the contest's standings from the ledger and record its winners (idempotent).

    Only once it is due (Contest.phase "due"): reviews still change its points until its grace
    period ends, so neither the periodic job nor an admin freezes it earlier.
    """
    if actor is not None:
        _require_admin(actor)
    with transaction.atomic():
        contest = Contest.objects.select_for_update().get(pk=contest.pk)
        if contest.is_finalized:
            return contest
        if contest.phase(now) != "due":
            raise StateConflict(_not_due_yet(contest))
        rows = selectors.contest_live_rows(contest=contest)
        Standing.objects.bulk_create(
            [
                Standing(
                    contest=contest,
                    user_id=row.member,
                    rank=row.rank,
                    points=row.points,
                    accepted=row.accepted,
                    reviews=row.reviews,
                    is_winner=_is_winner(row, contest),
                )
                for row in rows
            ]
        )
        contest.finalized_at = timezone.now()
        contest.save(update_fields=["finalized_at"])
        _notify_finalized(contest, rows)
    logger.info("Finalised %s: %d standings", contest, len(rows))
    return contest


def _not_due_yet(contest: Contest) -> str:
    when = dateformat.format(timezone.localtime(contest.grace_ends_at), "D j M Y, H:i T")
    return (
        f"{contest.name} is not due to be finalised yet: reviews still count until its grace "
        f"period ends, {when}. It can be finalised from then."
    )


def _notify_finalized(contest: Contest, rows) -> None:
    """Tell each person who scored in the contest their final place (theirs only)."""
    texts = {
        row.member: (
            f"{contest.name} is final: you placed #{row.rank} with {row.points} points"
            + (", among the winners." if _is_winner(row, contest) else ".")
        )
        for row in rows
        if row.points > 0
    }
    notifications_create(
        kind=NotificationKind.CONTEST_FINALIZED,
        link=reverse("leaderboard:contest_board", args=[contest.pk]),
        texts=texts,
    )


def contests_tick(*, now: datetime.datetime | None = None) -> dict:
    """The periodic job: make this week's contest and finalise those past their grace period.
    Running it twice changes nothing the second time."""
    now = now or timezone.now()
    week = contest_ensure_week(moment=now)
    due = Contest.objects.filter(finalized_at__isnull=True, grace_ends_at__lte=now)
    finalized = [contest_finalize(contest=c, now=now).pk for c in due]
    return {"week": week.pk if week else None, "finalized": finalized}


# --- Scoring ---------------------------------------------------------------------------------


def _rule(contest: Contest | None, field: str, default: int) -> int:
    value = getattr(contest, field, None) if contest else None
    return default if value is None else value


def _entry_points(decision: Decision, contest: Contest | None) -> tuple[int, str]:
    """10 × the category multiplier (the contest's, if it sets one), plus a bonus while the
    category is short of its target, plus the contest's focus bonus."""
    entry = decision.entry
    category = entry.category
    base = _rule(contest, "accepted_points", settings.FLOCK_POINTS_ACCEPTED)
    overrides = (contest.multipliers or {}) if contest else {}
    multiplier = Decimal(str(overrides.get(category.slug, category.points_multiplier)))
    points = int((base * Decimal(multiplier)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    parts = [f"{base} × {multiplier.normalize():f} for an accepted {category.name} entry"]
    # Counted as of this decision, so that a replay later gives the same points.
    accepted_before = (
        annotation_selectors.decisions_current(as_of=decision.created_at)
        .filter(entry__category=category, outcome=Outcome.ACCEPTED)
        .exclude(entry=entry)
        .count()
    )
    if accepted_before < category.target_count:
        bonus = _rule(contest, "short_category_bonus", settings.FLOCK_POINTS_SHORT_CATEGORY_BONUS)
        if bonus:
            points += bonus
            parts.append(
                f"+{bonus}: {category.name} had {accepted_before} of {category.target_count}"
            )
    if contest and contest.focus_bonus and contest.focus_categories.filter(pk=category.pk).exists():
        points += contest.focus_bonus
        parts.append(f"+{contest.focus_bonus}: focus category of {contest.name}")
    return points, "; ".join(parts)


def _record(event: ScoreEvent) -> ScoreEvent | None:
    """Append to the ledger unless this (kind, object, user) already scored; update the cached
    boards once the transaction commits."""
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        return None
    team_id = selectors.team_of(event.user_id)
    transaction.on_commit(lambda: boards.add_points(event=event, team_id=team_id))
    return event


def _contest_open_at(
    moment: datetime.datetime, decided_at: datetime.datetime
) -> tuple[Contest | None, str]:
    """The contest that `moment` counts for, if it still takes points at `decided_at`.

    Its row is locked, so scoring and finalising one contest never interleave: points that
    arrive once it is final, or after its grace period, count all-time only (and say so).
    """
    contest = contest_for_moment(moment)
    if contest is None:
        return None, ""
    contest = Contest.objects.select_for_update().get(pk=contest.pk)
    if not _contest_taking_points(contest, decided_at):
        return None, f" (after {contest.name} closed: counts all-time only)"
    return contest, ""


def _contest_taking_points(contest: Contest, at: datetime.datetime) -> bool:
    """Whether the contest's standings still change at `at`: not once it is final, nor after
    its grace period (finalising is due from then). The one rule for points earned and taken
    back, so that a contest's ledger never takes a reversal of points it would not give again."""
    return not contest.is_finalized and at < contest.grace_ends_at


@dataclass(frozen=True)
class LedgerKeys:
    """The ledger keys one decision scores under (see ledger_keys)."""

    suffix: str

    def entry(self, entry_id: int) -> str:
        return f"entry:{entry_id}{self.suffix}"

    def review(self, review_id: int) -> str:
        return f"review:{review_id}{self.suffix}"


def ledger_keys(*, decision: Decision) -> LedgerKeys:
    """The keys a decision's points are written under, for scoring it and for reversing it.

    "entry:<id>" and "review:<id>" (an entry earns once, a review once), unless a moderator
    overturned an earlier decision of the same entry: then "entry:<id>@<decision id>", so that
    an entry accepted, overturned and accepted again earns again. Only an entry's current
    decision can be overturned, so every overturn of an earlier decision happened before this
    one was made: the keys come out the same whenever they are computed, and a replay adds
    nothing twice.
    """
    overturned_before = Overturn.objects.filter(
        decision__entry_id=decision.entry_id, decision_id__lt=decision.pk
    ).exists()
    return LedgerKeys(suffix=f"@{decision.pk}" if overturned_before else "")


def _agreeing_reviews(decision: Decision):
    """The reviews of the decision's round whose verdict matches its outcome: they earn, if they
    counted (Review.counts: the reviewer's gold accuracy was good when they gave it)."""
    return Review.objects.filter(
        annotation_selectors.votes_counting(),
        entry_id=decision.entry_id,
        round=decision.round,
        verdict=VERDICT_OF_OUTCOME[decision.outcome],
    )


def score_decision(*, decision: Decision) -> list[ScoreEvent]:
    """Points earned by a decided round, written in the decision's transaction.

    The author earns the accepted-entry points when it is accepted (rejected work earns
    nothing); each reviewer whose verdict matches the outcome earns the review points. The
    ledger's unique key makes a replay add nothing. A decision a moderator overturned earns
    nothing (any points it earned were taken back: score_reverse).
    """
    if Overturn.objects.filter(decision=decision).exists():
        return []
    entry = decision.entry
    keys = ledger_keys(decision=decision)
    recorded = []
    if decision.outcome == Outcome.ACCEPTED:
        contest, late = _contest_open_at(entry.submitted_at, decision.created_at)
        points, reason = _entry_points(decision, contest)
        reason += late
        recorded.append(
            _record(
                ScoreEvent(
                    kind=ScoreKind.ENTRY_ACCEPTED,
                    object_key=keys.entry(entry.pk),
                    user_id=entry.author_id,
                    points=points,
                    entry=entry,
                    contest=contest,
                    reason=reason,
                    created_at=decision.created_at,
                )
            )
        )
    for review in _agreeing_reviews(decision):
        contest, late = _contest_open_at(review.created_at, decision.created_at)
        points = _rule(contest, "review_points", settings.FLOCK_POINTS_REVIEW)
        recorded.append(
            _record(
                ScoreEvent(
                    kind=ScoreKind.REVIEW_AGREED,
                    object_key=keys.review(review.pk),
                    user_id=review.reviewer_id,
                    points=points,
                    entry=entry,
                    review=review,
                    contest=contest,
                    reason=f"Your {review.get_verdict_display().lower()} of #{entry.pk} agreed "
                    f"with its outcome ({decision.get_outcome_display().lower()}){late}",
                    created_at=decision.created_at,
                )
            )
        )
    return [event for event in recorded if event is not None]


REVERSAL_OF = {
    ScoreKind.ENTRY_ACCEPTED: ScoreKind.ENTRY_REVERSED,
    ScoreKind.REVIEW_AGREED: ScoreKind.REVIEW_REVERSED,
}


def _scored_by(decision: Decision):
    """The ledger events the decision earned, found by the keys it scored under."""
    keys = ledger_keys(decision=decision)
    reviews = Review.objects.filter(entry_id=decision.entry_id, round=decision.round)
    return ScoreEvent.objects.filter(
        Q(kind=ScoreKind.ENTRY_ACCEPTED, object_key=keys.entry(decision.entry_id))
        | Q(
            kind=ScoreKind.REVIEW_AGREED,
            object_key__in=[keys.review(pk) for pk in reviews.values_list("pk", flat=True)],
        )
    ).order_by("pk")


# What an overturn made of the entry, as a reversal's reason tells it.
_NOW = {
    OverturnVerdict.APPROVE: "now accepted",
    OverturnVerdict.REJECT: "now rejected",
    OverturnVerdict.REOPEN: "reopened for review",
}


def _reversal(event: ScoreEvent, overturn: Overturn) -> ScoreEvent:
    """The compensating event of `event`: its points taken back from the same boards, except
    a contest's that no longer takes points (_contest_taking_points: final, or past its grace
    period), whose standings stay as they are (then all-time only, and it says so).
    The contest's row is locked, so a reversal and the contest's finalising never interleave."""
    contest, frozen = event.contest, ""
    if contest is not None:
        contest = Contest.objects.select_for_update().get(pk=contest.pk)
        if not _contest_taking_points(contest, overturn.created_at):
            contest, frozen = None, f" (after {contest.name} closed: taken back all-time only)"
    decision = overturn.decision
    return ScoreEvent(
        kind=REVERSAL_OF[event.kind],
        object_key=f"event:{event.pk}",
        user_id=event.user_id,
        points=-event.points,
        entry_id=event.entry_id,
        review_id=event.review_id,
        contest=contest,
        reason=f"A moderator overturned the decision on #{decision.entry_id} (was "
        f"{decision.get_outcome_display().lower()}; {_NOW[overturn.verdict]}){frozen}",
        created_at=overturn.created_at,
    )


def score_reverse(*, overturn: Overturn) -> list[ScoreEvent]:
    """Take back the points of an overturned decision, in the overturn's transaction.

    The ledger is append-only: every event the decision earned gets a compensating event
    (ENTRY_REVERSED / REVIEW_REVERSED, negative points, key "event:<id reversed>"), so each
    board stays a sum of the ledger and a replay adds no reversal twice.
    """
    events = _scored_by(overturn.decision).select_related("contest")
    recorded = [_record(_reversal(event, overturn)) for event in events]
    return [event for event in recorded if event is not None]


def score_replay(*, since: datetime.datetime | None = None) -> int:
    """Score every decision and reverse every overturned one again (e.g. after a fix); the
    ledger keys make it add only what is missing. Returns how many events were added."""
    decisions = Decision.objects.select_related("entry__category").order_by("created_at")
    overturns = Overturn.objects.select_related("decision").order_by("created_at")
    if since is not None:
        decisions = decisions.filter(created_at__gte=since)
        overturns = overturns.filter(created_at__gte=since)
    added = 0
    for decision in decisions:
        with transaction.atomic():
            added += len(score_decision(decision=decision))
    for overturn in overturns:
        with transaction.atomic():
            added += len(score_reverse(overturn=overturn))
    return added


# --- Cached boards ---------------------------------------------------------------------------


def boards_to_cache() -> list[str]:
    open_contests = Contest.objects.filter(finalized_at__isnull=True).values_list("pk", flat=True)
    return [boards.ALL, boards.TEAM, *(boards.contest_board(pk) for pk in open_contests)]


def boards_rebuild() -> dict[str, int]:
    """Recompute every cached board from the ledger (a command and a job call this)."""
    if boards.redis_client() is None:
        return {}
    return {board: boards.rebuild(board) for board in boards_to_cache()}


def boards_check(*, repair: bool = True) -> list[boards.Drift]:
    """Compare each cached board with the ledger; log and (by default) rebuild any that drifted."""
    if boards.redis_client() is None:
        return []
    drifts = [boards.compare(board) for board in boards_to_cache()]
    drifted = [d for d in drifts if d.total]
    for drift in drifted:
        logger.warning(
            "Board %s drifted from the ledger: %d missing, %d extra, %d wrong, "
            "%d with wrong counts; %s",
            drift.board,
            drift.missing,
            drift.extra,
            drift.wrong,
            drift.counts,
            "rebuilding" if repair else "left as is",
        )
        if repair:
            boards.rebuild(drift.board)
    return drifted


def on_entry_decided(sender, *, decision: Decision, **kwargs) -> None:
    """Receiver of annotation.events.entry_decided (connected in LeaderboardConfig.ready)."""
    score_decision(decision=decision)


def on_review_recorded(sender, *, review: Review, **kwargs) -> None:
    """Receiver of annotation.events.review_recorded (connected in LeaderboardConfig.ready): the
    review counts on its reviewer's cached boards once it commits (a finalised contest's
    standings keep the counts they were finalised with)."""
    team_id = selectors.team_of(review.reviewer_id)
    contest = contest_for_moment(review.created_at)  # as scoring finds it: made if need be
    contest_id = contest.pk if contest is not None and not contest.is_finalized else None
    transaction.on_commit(
        lambda: boards.add_review(
            reviewer_id=review.reviewer_id, team_id=team_id, contest_id=contest_id
        )
    )


def on_contest_saved(sender, *, instance: Contest, **kwargs) -> None:
    """Receiver of Contest's post_save (connected in LeaderboardConfig.ready): however a contest
    was saved (contest_save, the admin, the weekly job), its window says which reviews count on
    its board, so the cached board is counted again on its next page once the save commits."""
    board = boards.contest_board(instance.pk)
    transaction.on_commit(lambda: boards.forget(board))


def on_person_erased(sender, *, person, **kwargs) -> None:
    """Receiver of annotation.events.person_erased (connected in LeaderboardConfig.ready).

    The ledger is left as it is (an erasure takes back nobody's points), so the boards' sums
    do not change; the person's name leaves every board with their profile (shown as
    anonymous: display_names reads it at every read, Redis holds only ids, points and
    counts). Once
    the erasure commits, the cached boards are checked against the ledger all the same."""
    enqueue_on_commit(
        "leaderboard.tasks.boards_check",
        what=f"the check of the cached boards after the erasure of account #{person.pk}",
    )


def on_entry_overturned(sender, *, overturn: Overturn, **kwargs) -> None:
    """Receiver of annotation.events.entry_overturned (connected in LeaderboardConfig.ready)."""
    score_reverse(overturn=overturn)
