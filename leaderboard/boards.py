"""Leaderboard storage: PostgreSQL's ledger is the truth; Redis sorted sets are a cache of it.

A board is named by a key: "all" (all time, members are user ids), "team" (members are team
ids) or "contest:<id>" (user ids). With REDIS_URL set, every score event is added to its boards
after its transaction commits (ZINCRBY), reads come from Redis (top N, a member's rank and
neighbours in O(log n)), and `rebuild`/`check` recompute boards from the ledger. The rows'
accepted and review counts are kept beside the points (see ACCEPTED_CHANGE). Without Redis the
same reads are SQL aggregations over the ledger and the reviews.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, When
from redis.exceptions import RedisError

from annotation.models import Review
from leaderboard.models import Contest, ScoreEvent, ScoreKind

logger = logging.getLogger(__name__)

ALL = "all"
TEAM = "team"


def contest_board(contest_id: int) -> str:
    return f"contest:{contest_id}"


@cache
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)


def redis_client():
    """The Redis client, or None when boards live only in the database."""
    return _redis_client(settings.REDIS_URL) if settings.REDIS_URL else None


def redis_key(board: str) -> str:
    return f"{settings.FLOCK_REDIS_PREFIX}board:{board}"


def ledger_for(board: str) -> QuerySet:
    """The ledger rows a board sums, grouped by its member (user or team)."""
    events = ScoreEvent.objects.all()
    if board.startswith("contest:"):
        events = events.filter(contest_id=int(board.split(":", 1)[1]))
    if board == TEAM:
        return (
            events.filter(user__profile__team__isnull=False)
            .values(member=F("user__profile__team"))
            .annotate(points=Sum("points"))
        )
    return events.values(member=F("user")).annotate(points=Sum("points"))


# Ties are listed by member id, highest first, everywhere: that is the order Redis gives equal
# scores when members are fixed-width strings (it sorts them in reverse byte order).
def member_key(member: int) -> str:
    return f"{member:012d}"


def ledger_totals(board: str) -> dict[int, int]:
    return {row["member"]: row["points"] for row in ledger_for(board)}


def members_on_boards(
    *, user_id: int, team_id: int | None, contest_id: int | None
) -> list[tuple[str, int]]:
    """The boards a person's event counts on, with who it counts for on each: them, and their
    team on the team board."""
    pairs = [(ALL, user_id)]
    if team_id is not None:
        pairs.append((TEAM, team_id))
    if contest_id is not None:
        pairs.append((contest_board(contest_id), user_id))
    return pairs


# A board page's rows also show each member's accepted entries (acceptances less the ones an
# overturn took back) and reviews: counts over the ledger and the reviews of the people on it, of
# which the top of a board at a million entries holds hundreds of thousands (300 ms a page). With
# Redis they are kept next to the points, in a hash per board (fields a<member> and r<member>):
# an acceptance or a reversal moves a member's accepted count in the same MULTI as their points
# (add_points), a review moves the reviewer's review count once it commits (add_review), and
# `rebuild` counts them all again from the database with the points. Its field BUILT says the
# hash is whole (an increment alone would make a partial one) and holds how many members the
# board had then (see _whole).
ACCEPTED_CHANGE = {ScoreKind.ENTRY_ACCEPTED: 1, ScoreKind.ENTRY_REVERSED: -1}
BUILT = "built"


def counts_key(board: str) -> str:
    return f"{settings.FLOCK_REDIS_PREFIX}board-counts:{board}"


def _contest_of(board: str) -> Contest | None:
    return (
        Contest.objects.get(pk=int(board.split(":", 1)[1]))
        if board.startswith("contest:")
        else None
    )


def _net_accepted(events: QuerySet, member: str) -> dict[int, int]:
    """Accepted entries per `member` (a field of the events: user, team): the ledger's
    acceptances, each counted as ACCEPTED_CHANGE says, so that the counts follow the points."""
    change = Case(*(When(kind=kind, then=n) for kind, n in ACCEPTED_CHANGE.items()))
    return dict(
        events.filter(kind__in=list(ACCEPTED_CHANGE))
        .values_list(member)
        .annotate(n=Sum(change, output_field=IntegerField()))
    )


def counts_of(board: str, members: set[int] | None) -> dict[int, tuple[int, int]]:
    """(accepted, reviews) of each of `members` (None: of everyone) on `board`, counted from
    the database now. A contest counts the reviews written in its window; the team board, a
    team's members' (as teams are now)."""
    events, reviews = ScoreEvent.objects.all(), Review.objects.all()
    if board == TEAM:
        member, reviewer = "user__profile__team_id", "reviewer__profile__team_id"
        if members is None:
            events = events.filter(user__profile__team__isnull=False)
            reviews = reviews.filter(reviewer__profile__team__isnull=False)
    else:
        member, reviewer = "user_id", "reviewer_id"
        contest = _contest_of(board)
        if contest is not None:
            events = events.filter(contest=contest)
            reviews = reviews.filter(
                created_at__gte=contest.starts_at, created_at__lt=contest.ends_at
            )
    if members is not None:
        events = events.filter(**{f"{member}__in": members})
        reviews = reviews.filter(**{f"{reviewer}__in": members})
    accepted = _net_accepted(events, member)
    # COUNT(*), not COUNT(id): read from the (reviewer, created_at) index alone, without
    # visiting a row per review (166 ms against 6 ms for five people at a million entries).
    written = dict(reviews.values_list(reviewer).annotate(n=Count("*")))
    everyone = accepted.keys() | written.keys() if members is None else members
    return {m: (accepted.get(m, 0), written.get(m, 0)) for m in everyone}


def counts_read(board: str, members: set[int]) -> dict[int, tuple[int, int]]:
    """(accepted, reviews) of each of `members` on `board`: kept in Redis when there is one
    (and its counts are whole), else counted now."""
    client = redis_client()
    if client is not None and members:
        order = list(members)
        fields = [f"{kind}{m}" for m in order for kind in "ar"]
        try:
            *values, built = client.hmget(counts_key(board), [*fields, BUILT])
        except RedisError:
            logger.exception("Redis did not answer; counting board %s's rows", board)
        else:
            if built is not None:
                numbers = [int(v or 0) for v in values]
                return {m: (numbers[2 * i], numbers[2 * i + 1]) for i, m in enumerate(order)}
    return counts_of(board, members)


def forget(board: str) -> None:
    """Drop a cached board, points and counts: its next read rebuilds it from the database."""
    client = redis_client()
    if client is not None:
        try:
            client.delete(redis_key(board), counts_key(board))
        except RedisError:
            logger.exception("Could not drop the cached board %s", board)


def _pipe_or_log(what: str, fill: Callable) -> None:
    """Run the commands `fill(pipe)` queues in one MULTI. A failure is logged, not raised: the
    database has the truth and the periodic check repairs the cache."""
    client = redis_client()
    if client is None:
        return
    try:
        pipe = client.pipeline()
        fill(pipe)
        pipe.execute()
    except RedisError:
        logger.exception("Could not add %s to the cached boards", what)


def add_points(*, event: ScoreEvent, team_id: int | None) -> None:
    """Add a committed ledger event's points (and accepted entry) to the cached boards."""
    accepted = ACCEPTED_CHANGE.get(event.kind, 0)

    def fill(pipe) -> None:
        for board, member in members_on_boards(
            user_id=event.user_id, team_id=team_id, contest_id=event.contest_id
        ):
            pipe.zincrby(redis_key(board), event.points, member_key(member))
            if accepted:
                pipe.hincrby(counts_key(board), f"a{member}", accepted)

    _pipe_or_log(f"{event.points} points for user {event.user_id}", fill)


def add_review(*, reviewer_id: int, team_id: int | None, contest_id: int | None) -> None:
    """Count a committed review on the cached boards of its reviewer, team and contest."""

    def fill(pipe) -> None:
        for board, member in members_on_boards(
            user_id=reviewer_id, team_id=team_id, contest_id=contest_id
        ):
            pipe.hincrby(counts_key(board), f"r{member}", 1)

    _pipe_or_log(f"a review by user {reviewer_id}", fill)


def rebuild(board: str) -> int:
    """Recompute a cached board, points and counts, from the database and swap both in
    atomically; returns its size. Points or a review added between the reading and the swap
    are lost to the cache (the ledger has them): the hourly check finds and repairs that."""
    client = redis_client()
    if client is None:
        return 0
    totals = ledger_totals(board)
    counts = counts_of(board, None)
    key, kept = redis_key(board), counts_key(board)
    pipe = client.pipeline()
    pipe.delete(f"{key}:rebuilding", f"{kept}:rebuilding")
    items = [(member_key(member), points) for member, points in totals.items()]
    for start in range(0, len(items), 10_000):
        pipe.zadd(f"{key}:rebuilding", dict(items[start : start + 10_000]))
    fields = [
        (f"{kind}{member}", n)
        for member, pair in counts.items()
        for kind, n in zip("ar", pair, strict=True)
        if n
    ]
    for start in range(0, len(fields), 10_000):
        pipe.hset(f"{kept}:rebuilding", mapping=dict(fields[start : start + 10_000]))
    pipe.hset(f"{kept}:rebuilding", BUILT, len(items))
    if items:
        pipe.rename(f"{key}:rebuilding", key)
    else:
        pipe.delete(key)
    pipe.rename(f"{kept}:rebuilding", kept)
    pipe.delete(f"{kept}:rebuilding-lock")
    pipe.execute()
    return len(items)


def _kept_counts(client, board: str) -> dict[int, tuple[int, int]]:
    fields = client.hgetall(counts_key(board))
    fields.pop(BUILT, None)
    kept: dict[int, list[int]] = {}
    for field, n in fields.items():
        kept.setdefault(int(field[1:]), [0, 0])["ar".index(field[0])] = int(n)
    return {member: (a, r) for member, (a, r) in kept.items() if a or r}


@dataclass(frozen=True)
class Drift:
    board: str
    missing: int
    extra: int
    wrong: int
    counts: int = 0  # members whose accepted or review count is wrong

    @property
    def total(self) -> int:
        return self.missing + self.extra + self.wrong + self.counts


def compare(board: str) -> Drift:
    """How the cached board (points and counts) differs from the database."""
    client = redis_client()
    cached = {
        int(member): int(score)
        for member, score in client.zrange(redis_key(board), 0, -1, withscores=True)
    }
    truth = ledger_totals(board)
    counted = {m: pair for m, pair in counts_of(board, None).items() if any(pair)}
    kept = _kept_counts(client, board)
    return Drift(
        board=board,
        missing=len(truth.keys() - cached.keys()),
        extra=len(cached.keys() - truth.keys()),
        wrong=sum(1 for m in truth.keys() & cached.keys() if truth[m] != cached[m]),
        counts=sum(1 for m in counted.keys() | kept.keys() if counted.get(m) != kept.get(m)),
    )


@dataclass(frozen=True)
class Ranked:
    member: int
    points: int
    rank: int


def _ranked(pairs: list[tuple[int, int]], *, offset: int, ahead_of_first: int) -> list[Ranked]:
    """Competition ranks (ties share a rank) for the board's rows at positions offset, … .

    `ahead_of_first` is how many members have strictly more points than the first row; after
    it, a row either ties the one before or has everyone before it ahead.
    """
    result: list[Ranked] = []
    for i, (member, points) in enumerate(pairs):
        if i == 0:
            rank = ahead_of_first + 1
        elif points == result[-1].points:
            rank = result[-1].rank
        else:
            rank = offset + i + 1
        result.append(Ranked(int(member), int(points), rank))
    return result


def read_top_and_around(board: str, *, size: int, member: int | None) -> tuple[list, list]:
    """The top `size` members and, for `member`, their rank with two neighbours each side.

    From Redis when there is one; a board not whole there (a flushed or restarted Redis, a new
    contest) is rebuilt first, and a Redis that does not answer is read around, from the ledger.
    """
    client = redis_client()
    if client is not None:
        try:
            if _whole(client, board) or _rebuilt_by_this_page(client, board):
                return _read_redis(client, redis_key(board), size=size, member=member)
        except RedisError:
            logger.exception("Redis did not answer; reading board %s from the ledger", board)
    return _read_sql(board, size=size, member=member)


def _whole(client, board: str) -> bool:
    """Whether Redis holds the whole board: its counts marked BUILT (with the number of members
    it was rebuilt with), and its sorted set unless that number was 0 (an empty board has none;
    points never leave one, so a board rebuilt with members has lost its set to a flush)."""
    pipe = client.pipeline(transaction=False)
    pipe.hget(counts_key(board), BUILT)
    pipe.exists(redis_key(board))
    members, exists = pipe.execute()
    return members is not None and (members == "0" or bool(exists))


def _rebuilt_by_this_page(client, board: str) -> bool:
    """Rebuild a board that is not whole in Redis, unless another page is rebuilding it (after
    a deploy or a flush, every page would otherwise count everything at once): that page
    reads it from the ledger meanwhile."""
    if not client.set(f"{counts_key(board)}:rebuilding-lock", 1, nx=True, ex=60):
        return False
    rebuild(board)
    return True


def _read_redis(client, key: str, *, size: int, member: int | None):
    """Three round trips whatever the board's size: O(log n) each in Redis."""
    pipe = client.pipeline(transaction=False)
    pipe.zrevrange(key, 0, size - 1, withscores=True)
    pipe.zrevrank(key, member_key(member) if member is not None else "")
    top_pairs, position = pipe.execute()
    top = _ranked(top_pairs, offset=0, ahead_of_first=0)
    if member is None or position is None:
        return top, []
    start = max(position - 2, 0)
    around_pairs = client.zrevrange(key, start, position + 2, withscores=True)
    ahead = client.zcount(key, f"({around_pairs[0][1]}", "+inf") if start else 0
    return top, _ranked(around_pairs, offset=start, ahead_of_first=ahead)


def _read_sql(board: str, *, size: int, member: int | None):
    totals = ledger_for(board).order_by("-points", "-member")

    def pairs(rows) -> list[tuple[int, int]]:
        return [(row["member"], row["points"]) for row in rows]

    top = _ranked(pairs(totals[:size]), offset=0, ahead_of_first=0)
    if member is None:
        return top, []
    mine = totals.filter(member=member).first()
    if mine is None:
        return top, []
    ahead = totals.filter(
        Q(points__gt=mine["points"]) | Q(points=mine["points"], member__gt=member)
    ).count()
    start = max(ahead - 2, 0)
    rows = pairs(totals[start : ahead + 3])
    first_ahead = totals.filter(points__gt=rows[0][1]).count() if start else 0
    return top, _ranked(rows, offset=start, ahead_of_first=first_ahead)
