"""Leaderboard storage: PostgreSQL's ledger is the truth; Redis sorted sets are a cache of it.

A board is named by a key: "all" (all time, members are user ids), "team" (members are team
ids) or "contest:<id>" (user ids). With REDIS_URL set, every score event is added to its boards
after its transaction commits (ZINCRBY), reads come from Redis (top N, a member's rank and
neighbours in O(log n)), and `rebuild`/`check` recompute boards from the ledger. Without Redis
the same reads are SQL aggregations over the ledger.
"""

import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.cache import cache as django_cache
from django.db.models import F, Q, QuerySet, Sum
from redis.exceptions import RedisError

from leaderboard.models import ScoreEvent

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


def boards_for_event(*, user_id: int, team_id: int | None, contest_id: int | None) -> list[str]:
    boards = [ALL]
    if team_id is not None:
        boards.append(TEAM)
    if contest_id is not None:
        boards.append(contest_board(contest_id))
    return boards


# A board page's rows also show each member's accepted entries and reviews: counts over the
# ledger and the reviews of the people on it, of which the top of a board at a million entries
# holds hundreds of thousands (300 ms a page). With Redis they are kept for
# FLOCK_BOARD_COUNTS_SECONDS per member and board for the whole site (Django's cache). A member's
# are dropped when points of theirs are added (so a row's points and accepted count move
# together) and all of them when a board is rebuilt; a review counts within the seconds.
COUNTS_GENERATION = "board-counts:generation"


def _counts_key(board: str, member: int) -> str:
    return f"board-counts:{board}:{member}"


def counts_read(board: str, members: set[int], count: Callable[[set[int]], dict]) -> dict:
    """Each member's figures on `board`, from `count(members) -> {member: figures}` for those
    not counted in the last FLOCK_BOARD_COUNTS_SECONDS (or since their points changed)."""
    seconds = settings.FLOCK_BOARD_COUNTS_SECONDS
    if not seconds or redis_client() is None:  # without Redis every board is read live
        return count(members)
    keys = {member: _counts_key(board, member) for member in members}
    try:
        cached = django_cache.get_many([COUNTS_GENERATION, *keys.values()])
    except RedisError:
        return count(members)
    generation = cached.get(COUNTS_GENERATION, "")
    found = {
        member: cached[key][1]
        for member, key in keys.items()
        if key in cached and cached[key][0] == generation
    }
    missing = members - found.keys()
    if missing:
        counted = count(missing)
        found.update(counted)
        with contextlib.suppress(RedisError):
            django_cache.set_many(
                {keys[member]: (generation, counted[member]) for member in missing}, seconds
            )
    return found


def counts_forget() -> None:
    """Count every board's rows again on their next page (a new generation makes the cached
    counts stale; they expire by themselves)."""
    with contextlib.suppress(RedisError):
        django_cache.set(COUNTS_GENERATION, uuid.uuid4().hex, None)


def add_points(*, points: int, user_id: int, team_id: int | None, contest_id: int | None) -> None:
    """Add committed points to the cached boards. A failure is logged, not raised: the ledger
    has the points and the periodic check repairs the cache."""
    boards = boards_for_event(user_id=user_id, team_id=team_id, contest_id=contest_id)
    with contextlib.suppress(RedisError):
        django_cache.delete_many(
            [_counts_key(board, team_id if board == TEAM else user_id) for board in boards]
        )
    client = redis_client()
    if client is None:
        return
    try:
        pipe = client.pipeline()
        for board in boards:
            member = team_id if board == TEAM else user_id
            pipe.zincrby(redis_key(board), points, member_key(member))
        pipe.execute()
    except RedisError:  # Redis down: the ledger is still right, the check repairs the cache
        logger.exception(
            "Could not add %s points for user %s to the cached boards", points, user_id
        )


def rebuild(board: str) -> int:
    """Recompute a cached board from the ledger and swap it in atomically; returns its size."""
    counts_forget()
    client = redis_client()
    if client is None:
        return 0
    totals = ledger_totals(board)
    key = redis_key(board)
    scratch = f"{key}:rebuilding"
    pipe = client.pipeline()
    pipe.delete(scratch)
    items = [(member_key(member), points) for member, points in totals.items()]
    for start in range(0, len(items), 10_000):
        pipe.zadd(scratch, dict(items[start : start + 10_000]))
    if items:
        pipe.rename(scratch, key)
    else:
        pipe.delete(key)
    pipe.execute()
    return len(items)


@dataclass(frozen=True)
class Drift:
    board: str
    missing: int
    extra: int
    wrong: int

    @property
    def total(self) -> int:
        return self.missing + self.extra + self.wrong


def compare(board: str) -> Drift:
    """How the cached board differs from the ledger."""
    cached = {
        int(member): int(score)
        for member, score in redis_client().zrange(redis_key(board), 0, -1, withscores=True)
    }
    truth = ledger_totals(board)
    return Drift(
        board=board,
        missing=len(truth.keys() - cached.keys()),
        extra=len(cached.keys() - truth.keys()),
        wrong=sum(1 for m in truth.keys() & cached.keys() if truth[m] != cached[m]),
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

    From Redis when there is one; a board missing there (a flushed or restarted Redis) is
    rebuilt first, and a Redis that does not answer is read around, from the ledger.
    """
    client = redis_client()
    if client is not None:
        try:
            if not client.exists(redis_key(board)):
                rebuild(board)
            return _read_redis(client, redis_key(board), size=size, member=member)
        except RedisError:
            logger.exception("Redis did not answer; reading board %s from the ledger", board)
    return _read_sql(board, size=size, member=member)


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
