import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import Rank, TruncDate
from django.utils import timezone

from annotation.models import Category, EntryStatus, Profile, Review, Team
from leaderboard import boards
from leaderboard.models import Contest, ScoreEvent, ScoreKind, Standing

ANONYMOUS = "anonymous"


def contest_at(moment: datetime.datetime) -> Contest | None:
    """The contest whose submission window holds `moment` (windows never overlap)."""
    return Contest.objects.filter(starts_at__lte=moment, ends_at__gt=moment).first()


def contest_list() -> QuerySet:
    return Contest.objects.order_by("-starts_at")


@dataclass
class BoardRow:
    rank: int
    member: int
    points: int
    name: str = ""
    accepted: int = 0
    reviews: int = 0
    is_viewer: bool = False
    is_winner: bool = False
    members: int = 0  # team boards only


@dataclass
class Board:
    title: str
    scope: str  # "contest", "all-time" or "team"
    rows: list[BoardRow]
    around: list[BoardRow]  # the viewer and neighbours, when the viewer is below the top rows
    contest: Contest | None = None
    frozen: bool = False

    @property
    def viewer_row(self) -> BoardRow | None:
        return next((r for r in [*self.rows, *self.around] if r.is_viewer), None)


def _review_counts(user_ids, contest: Contest | None) -> dict[int, int]:
    """Reviews written (in the contest's window), per user; user_ids None means everyone."""
    reviews = Review.objects.all()
    if user_ids is not None:
        reviews = reviews.filter(reviewer_id__in=user_ids)
    if contest is not None:
        reviews = reviews.filter(created_at__gte=contest.starts_at, created_at__lt=contest.ends_at)
    return dict(reviews.values_list("reviewer_id").annotate(n=Count("id")))


def _accepted_counts(user_ids, contest: Contest | None) -> dict[int, int]:
    events = ScoreEvent.objects.filter(kind=ScoreKind.ENTRY_ACCEPTED)
    if user_ids is not None:
        events = events.filter(user_id__in=user_ids)
    if contest is not None:
        events = events.filter(contest=contest)
    return dict(events.values_list("user_id").annotate(n=Count("id")))


def display_names(user_ids, viewer: AbstractBaseUser | None = None) -> dict[int, str]:
    """Leaderboard names: the display name (or username), or "anonymous" for those who opted
    out, except that viewers always see their own name."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(pk__in=user_ids).select_related("profile")
    names = {}
    for user in users:
        profile = getattr(user, "profile", None) or Profile(user=user)
        visible = profile.show_on_leaderboard or (viewer is not None and viewer.pk == user.pk)
        names[user.pk] = profile.name if visible else ANONYMOUS
    return names


def _fill_counts(rows: list[BoardRow], contest: Contest | None, *, everyone=False) -> None:
    """Accepted entries and reviews per row; `everyone` counts for all users in one query each
    (finalising a contest of tens of thousands, where an IN list would be too long)."""
    ids = None if everyone else {row.member for row in rows}
    accepted = _accepted_counts(ids, contest)
    reviews = _review_counts(ids, contest)
    for row in rows:
        row.accepted = accepted.get(row.member, 0)
        row.reviews = reviews.get(row.member, 0)


def _fill_users(rows: list[BoardRow], viewer, contest: Contest | None) -> None:
    _fill_counts(rows, contest)
    names = display_names({row.member for row in rows}, viewer)
    for row in rows:
        row.name = names.get(row.member, ANONYMOUS)
        row.is_viewer = viewer is not None and row.member == viewer.pk


def _fill_teams(rows: list[BoardRow], viewer) -> None:
    ids = {row.member for row in rows}
    names = dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))
    members = dict(
        Profile.objects.filter(team_id__in=ids).values_list("team_id").annotate(n=Count("id"))
    )
    accepted = dict(
        ScoreEvent.objects.filter(user__profile__team_id__in=ids, kind=ScoreKind.ENTRY_ACCEPTED)
        .values_list("user__profile__team_id")
        .annotate(n=Count("id"))
    )
    reviews = dict(
        Review.objects.filter(reviewer__profile__team_id__in=ids)
        .values_list("reviewer__profile__team_id")
        .annotate(n=Count("id"))
    )
    viewer_team = Profile.objects.filter(user=viewer).values_list("team_id", flat=True).first()
    for row in rows:
        row.name = names.get(row.member, "?")
        row.accepted = accepted.get(row.member, 0)
        row.reviews = reviews.get(row.member, 0)
        row.is_viewer = row.member == viewer_team
        row.members = members.get(row.member, 0)


def _split(top: list, around: list, viewer_member: int | None) -> list:
    """The viewer's neighbourhood, unless the viewer is among the top rows; rows it shares with
    the top (a viewer just below it) are shown once, in the top."""
    top_members = {row.member for row in top}
    if viewer_member is None or viewer_member in top_members:
        return []
    return [row for row in around if row.member not in top_members]


def _live(board: str, viewer, size: int) -> tuple[list[BoardRow], list[BoardRow]]:
    member = viewer.pk if viewer is not None else None
    if board == boards.TEAM:
        member = Profile.objects.filter(user=viewer).values_list("team_id", flat=True).first()
    top, around = boards.read_top_and_around(board, size=size, member=member)
    top = [BoardRow(rank=r.rank, member=r.member, points=r.points) for r in top]
    around = [BoardRow(rank=r.rank, member=r.member, points=r.points) for r in around]
    return top, _split(top, around, member)


def board_all_time(*, viewer: AbstractBaseUser) -> Board:
    top, around = _live(boards.ALL, viewer, settings.FLOCK_LEADERBOARD_SIZE)
    _fill_users([*top, *around], viewer, None)
    return Board(title="All time", scope="all-time", rows=top, around=around)


def board_teams(*, viewer: AbstractBaseUser) -> Board:
    top, around = _live(boards.TEAM, viewer, settings.FLOCK_LEADERBOARD_SIZE)
    _fill_teams([*top, *around], viewer)
    return Board(title="By team", scope="team", rows=top, around=around)


def board_contest(*, contest: Contest, viewer: AbstractBaseUser) -> Board:
    """A running contest's live board, or a finalised one's frozen standings."""
    size = settings.FLOCK_LEADERBOARD_SIZE
    if contest.is_finalized:
        # Ties in the order of the live boards (see boards.member_key): highest id first.
        standings = Standing.objects.filter(contest=contest).order_by("rank", "-user_id")
        top = [_standing_row(s) for s in standings[:size]]
        around = []
        mine = standings.filter(user=viewer).first() if viewer else None
        if mine is not None:
            position = standings.filter(
                Q(rank__lt=mine.rank) | Q(rank=mine.rank, user_id__gt=mine.user_id)
            ).count()
            around = [_standing_row(s) for s in standings[max(position - 2, 0) : position + 3]]
        around = _split(top, around, viewer.pk if viewer else None)
        names = display_names({r.member for r in [*top, *around]}, viewer)
        for row in [*top, *around]:
            row.name = names.get(row.member, ANONYMOUS)
            row.is_viewer = viewer is not None and row.member == viewer.pk
        return Board(contest.name, "contest", top, around, contest=contest, frozen=True)
    top, around = _live(boards.contest_board(contest.pk), viewer, size)
    _fill_users([*top, *around], viewer, contest)
    return Board(contest.name, "contest", top, around, contest=contest)


def _standing_row(standing: Standing) -> BoardRow:
    return BoardRow(
        rank=standing.rank,
        member=standing.user_id,
        points=standing.points,
        accepted=standing.accepted,
        reviews=standing.reviews,
        is_winner=standing.is_winner,
    )


def contest_live_rows(*, contest: Contest) -> list[BoardRow]:
    """Every participant's standing computed from the ledger (the truth), for finalising."""
    ranked = (
        ScoreEvent.objects.filter(contest=contest)
        .values(member=F("user"))
        .annotate(points=Sum("points"))
        .annotate(rank=Window(expression=Rank(), order_by=F("points").desc()))
        .order_by("rank", "-member")
    )
    rows = [BoardRow(rank=r["rank"], member=r["member"], points=r["points"]) for r in ranked]
    _fill_counts(rows, contest, everyone=True)
    return rows


def standings_for_csv(*, contest: Contest) -> list[BoardRow]:
    """Final standings with real display names (admins export them to hand out prizes)."""
    if contest.is_finalized:
        rows = [_standing_row(s) for s in Standing.objects.filter(contest=contest)]
    else:
        rows = contest_live_rows(contest=contest)
        for row in rows:
            row.is_winner = row.rank <= contest.winner_count and row.points > 0
    names = {
        user.pk: user.profile.name if hasattr(user, "profile") else user.get_username()
        for user in _users(r.member for r in rows)
    }
    for row in rows:
        row.name = names.get(row.member, "")
    return rows


def _users(ids):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk__in=list(ids)).select_related("profile")


def points_for_user(*, user: AbstractBaseUser) -> QuerySet:
    """Every point the user earned, newest first, with what earned it."""
    return (
        ScoreEvent.objects.filter(user=user)
        .select_related("contest", "entry")
        .order_by("-created_at", "-id")
    )


def points_total(*, user: AbstractBaseUser) -> int:
    return ScoreEvent.objects.filter(user=user).aggregate(total=Sum("points"))["total"] or 0


# --- Pictures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[datetime.date, int]]  # cumulative points at the end of each day


def contest_progress(*, contest: Contest, viewer: AbstractBaseUser, top: int = 5) -> list[Series]:
    """Cumulative points per day of the contest for its top contributors."""
    leaders = [row.member for row in board_contest(contest=contest, viewer=viewer).rows[:top]]
    zone = timezone.get_current_timezone()
    days = []
    day = contest.starts_at.astimezone(zone).date()
    # Through the grace period (its points are on the board too), up to today.
    end = min(contest.grace_ends_at - datetime.timedelta(microseconds=1), timezone.now())
    last = max(end, contest.starts_at).astimezone(zone).date()
    while day <= last and len(days) < 31:
        days.append(day)
        day += datetime.timedelta(days=1)
    daily = (
        ScoreEvent.objects.filter(contest=contest, user_id__in=leaders)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values_list("user_id", "day")
        .annotate(points=Sum("points"))
    )
    per_user: dict[int, dict] = {}
    for user_id, day, points in daily:
        per_user.setdefault(user_id, {})[day] = points
    names = display_names(leaders, viewer)
    series = []
    for user_id in leaders:
        running, points = 0, []
        for day in days:
            running += per_user.get(user_id, {}).get(day, 0)
            points.append((day, running))
        series.append(Series(name=names.get(user_id, ANONYMOUS), points=points))
    return series


def category_mix(*, contest: Contest | None = None) -> list[tuple[Category, int]]:
    """Accepted entries per category written in the drive (imports left out), those submitted in
    the contest's window if one is given."""
    accepted = Q(entries__status=EntryStatus.ACCEPTED, entries__source__isnull=True)
    if contest is not None:
        accepted &= Q(
            entries__submitted_at__gte=contest.starts_at, entries__submitted_at__lt=contest.ends_at
        )
    categories = Category.objects.annotate(n=Count("entries", filter=accepted)).order_by("position")
    return [(category, category.n) for category in categories]
