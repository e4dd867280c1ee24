import datetime
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import Rank, TruncDate
from django.utils import timezone

from annotation.models import Category, EntryStatus, Profile, Team, person_name
from annotation.text import comparable
from leaderboard import boards
from leaderboard.models import Contest, ScoreEvent, Standing

ANONYMOUS = "anonymous"


def team_of(user_id: int | None) -> int | None:
    """The team a person is in now (None: none, or nobody)."""
    return Profile.objects.filter(user_id=user_id).values_list("team_id", flat=True).first()


def contest_at(moment: datetime.datetime) -> Contest | None:
    """The contest whose submission window holds `moment` (windows never overlap)."""
    return Contest.objects.filter(starts_at__lte=moment, ends_at__gt=moment).first()


def contest_list() -> QuerySet:
    return Contest.objects.order_by("-starts_at")


def contest_windows() -> list[tuple[datetime.datetime, datetime.datetime, str]]:
    """Every contest's submission window and name, oldest first (exports names each record's
    contest in a snapshot's metadata.parquet with it; an entry submitted in [starts_at,
    ends_at) counts for it)."""
    return list(Contest.objects.order_by("starts_at").values_list("starts_at", "ends_at", "name"))


@dataclass
class BoardRow:
    rank: int
    member: int
    points: int
    name: str = ""
    accepted: int = 0
    reviews: int = 0
    is_viewer: bool = False
    is_winner: bool | None = False  # None: not known yet (a contest not finalised)
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


def display_names(
    user_ids, viewer: AbstractBaseUser | None = None, *, real: bool = False
) -> dict[int, str]:
    """Leaderboard names: the display name (or username), or "anonymous" for those who opted
    out, except that viewers always see their own name (and `real` shows everyone's, for the
    admins' standings file); names that collide are told apart (names_told_apart). One query,
    teams included, whatever the number of rows."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    # Values, not model instances: a board's 55 users with their profiles and teams were a
    # third of its page's time as objects.
    rows = User.objects.filter(pk__in=user_ids).values_list(
        "pk",
        User.USERNAME_FIELD,
        "profile__display_name",
        "profile__show_on_leaderboard",
        "profile__team_id",
        "profile__team__name",
    )
    shown_by_default = Profile._meta.get_field("show_on_leaderboard").default
    names, teams, team_ids = {}, {}, {}
    for pk, username, display_name, shown, team_id, team_name in rows:
        shown = shown_by_default if shown is None else shown  # no profile yet
        visible = real or shown or (viewer is not None and viewer.pk == pk)
        names[pk] = person_name(display_name, username) if visible else ANONYMOUS
        teams[pk] = team_name
        team_ids[pk] = team_id
    return names_told_apart(names, teams, team_ids)


def names_told_apart(
    names: dict[int, str], teams: dict[int, str | None], team_ids: dict[int, int | None]
) -> dict[int, str]:
    """Rows of one board whose names are the same (annotation.text.comparable: case, spacing)
    get their team added, "Sam Lee (Finance)"; those still alike (same team, or none) are
    numbered, "Sam Lee (Finance) · 2": the person's place by user id among all shown accounts of
    that name and team (_account_numbers), so that one person has the same number on every board,
    chart and file, whoever else is listed. It says nothing private (never a username or an
    e-mail). "anonymous" rows stay as they are: telling them apart would unmask them."""
    told = dict(names)
    for group in _alike(names):
        for member in group:
            if teams.get(member):
                told[member] = f"{names[member].strip()} ({teams[member]})"
    still = _alike(told)
    if not still:
        return told
    numbers = _account_numbers([m for group in still for m in group], names, team_ids)
    for group in still:
        if len({numbers[member] for member in group}) < len(group):
            # Made alike only by a team added ("Sam Lee (Finance)" typed as a name): by row.
            numbers.update({member: n for n, member in enumerate(group, start=1)})
        for member in group:
            told[member] = f"{told[member].strip()} · {numbers[member]}"
    return told


def _same_name_pattern(name: str) -> str:
    """A regular expression matching `name` ignoring case and spacing (with iregex)."""
    return r"^\s*" + r"\s+".join(re.escape(word) for word in name.split()) + r"\s*$"


def _account_numbers(
    members: list[int], names: dict[int, str], team_ids: dict[int, int | None]
) -> dict[int, int]:
    """Each member's place (1, 2, …) by user id among every account shown on the boards whose
    leaderboard name reads the same (comparable) and whose team is the same, listed on this
    board or not: one query for all the groups."""
    from django.contrib.auth import get_user_model

    def key(name: str, team_id: int | None) -> tuple[str, int | None]:
        return comparable(name), team_id

    wanted = {key(names[m], team_ids[m]) for m in members}
    query = Q(pk__in=members)
    for pattern, team_id in {(_same_name_pattern(names[m]), team_ids[m]) for m in members}:
        by_name = Q(profile__display_name__iregex=pattern) | (
            (Q(profile__isnull=True) | Q(profile__display_name="")) & Q(username__iregex=pattern)
        )
        query |= by_name & Q(profile__team_id=team_id)
    # Accounts hidden from the boards are not counted: a "· 2" must not reveal that someone who
    # opted out shares the name and team.
    shown = Q(profile__show_on_leaderboard=True) | Q(pk__in=members)
    accounts = get_user_model().objects.filter(query & shown).order_by("pk")
    places: dict[tuple[str, int | None], list[int]] = {}
    for pk, username, display_name, team_id in accounts.values_list(
        "pk", "username", "profile__display_name", "profile__team_id"
    ):
        if key(display_name or username, team_id) in wanted:
            places.setdefault(key(display_name or username, team_id), []).append(pk)
    return {m: places[key(names[m], team_ids[m])].index(m) + 1 for m in members}


def _alike(names: dict[int, str]) -> list[list[int]]:
    """Groups (by user id) of two or more shown names that read the same; anonymous left out."""
    groups: dict[str, list[int]] = {}
    for member, name in names.items():
        if name != ANONYMOUS:
            groups.setdefault(comparable(name), []).append(member)
    return [sorted(group) for group in groups.values() if len(group) > 1]


def _fill_counts_of_everyone(rows: list[BoardRow], board: str) -> None:
    """Accepted entries and reviews per row, counted now for all users in one query each
    (finalising a contest of tens of thousands, where an IN list would be too long)."""
    counts = boards.counts_of(board, None)
    for row in rows:
        row.accepted, row.reviews = counts.get(row.member, (0, 0))


def _fill_users(rows: list[BoardRow], viewer, board: str) -> None:
    counts = boards.counts_read(board, {row.member for row in rows})
    names = display_names({row.member for row in rows}, viewer)
    for row in rows:
        row.accepted, row.reviews = counts[row.member]
        row.name = names.get(row.member, ANONYMOUS)
        row.is_viewer = viewer is not None and row.member == viewer.pk


def _fill_teams(rows: list[BoardRow], viewer) -> None:
    ids = {row.member for row in rows}
    names = dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))
    members = dict(
        Profile.objects.filter(team_id__in=ids).values_list("team_id").annotate(n=Count("id"))
    )
    counts = boards.counts_read(boards.TEAM, ids)
    viewer_team = team_of(viewer.pk)
    for row in rows:
        row.name = names.get(row.member, "?")
        row.accepted, row.reviews = counts[row.member]
        row.members = members.get(row.member, 0)
        row.is_viewer = row.member == viewer_team


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
        member = team_of(member)
    top, around = boards.read_top_and_around(board, size=size, member=member)
    top = [BoardRow(rank=r.rank, member=r.member, points=r.points) for r in top]
    around = [BoardRow(rank=r.rank, member=r.member, points=r.points) for r in around]
    return top, _split(top, around, member)


def board_all_time(*, viewer: AbstractBaseUser) -> Board:
    top, around = _live(boards.ALL, viewer, settings.FLOCK_LEADERBOARD_SIZE)
    _fill_users([*top, *around], viewer, boards.ALL)
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
    board = boards.contest_board(contest.pk)
    top, around = _live(board, viewer, size)
    _fill_users([*top, *around], viewer, board)
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
    _fill_counts_of_everyone(rows, boards.contest_board(contest.pk))
    return rows


def standings_for_csv(*, contest: Contest) -> list[BoardRow]:
    """Standings with real display names, told apart (admins export them to hand out prizes).

    Winners are recorded only when the contest is finalised: until then the rows are the live
    ledger's, provisional, and every row's is_winner is None (not known yet).
    """
    if contest.is_finalized:
        rows = [_standing_row(s) for s in Standing.objects.filter(contest=contest)]
    else:
        rows = contest_live_rows(contest=contest)
        for row in rows:
            row.is_winner = None
    names = display_names({row.member for row in rows}, real=True)
    for row in rows:
        row.name = names.get(row.member, "")
    return rows


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


def contest_progress(
    *, contest: Contest, viewer: AbstractBaseUser, top: int = 5, board: Board | None = None
) -> list[Series]:
    """Cumulative points per day of the contest for its top contributors (those of `board`, the
    contest's board the page already read, if given)."""
    if board is None:
        board = board_contest(contest=contest, viewer=viewer)
    leaders = [row.member for row in board.rows[:top]]
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
