import os

import pytest
from django.utils import timezone

from annotation import services as annotation
from leaderboard import boards, selectors, services
from leaderboard.models import ScoreEvent
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL (CI does)"
)


def give(user, points, key=None, contest=None):
    """Put points straight into the ledger (scoring itself is tested in test_scoring)."""
    return ScoreEvent.objects.create(
        kind="entry_accepted",
        object_key=key or f"test:{user.pk}:{ScoreEvent.objects.count()}",
        user=user,
        points=points,
        contest=contest,
        reason="test",
    )


@pytest.fixture
def crowd(db):
    people = [UserFactory(username=f"p{i:02d}") for i in range(12)]
    for i, person in enumerate(people):
        give(person, 100 - i * 5)  # p00 leads with 100, p11 has 45
    services.boards_rebuild()  # with Redis, boards are filled from the ledger (no-op without)
    return people


def test_all_time_board_ranks_by_points_with_ties_sharing_a_rank(crowd):
    give(crowd[2], 5)  # p02 now ties p01 at 95
    services.boards_rebuild()
    board = selectors.board_all_time(viewer=crowd[0])
    assert [(r.rank, r.name, r.points) for r in board.rows[:4]] == [
        (1, "p00", 100),
        (2, "p02", 95),  # a tie shares the rank; the later account is listed first
        (2, "p01", 95),
        (4, "p03", 85),
    ]
    assert board.rows[0].is_viewer and board.around == []


def test_a_viewer_far_down_sees_their_row_and_neighbours(crowd, settings):
    settings.FLOCK_LEADERBOARD_SIZE = 3
    board = selectors.board_all_time(viewer=crowd[8])
    assert [r.name for r in board.rows] == ["p00", "p01", "p02"]
    assert [(r.rank, r.name, r.is_viewer) for r in board.around] == [
        (7, "p06", False),
        (8, "p07", False),
        (9, "p08", True),
        (10, "p09", False),
        (11, "p10", False),
    ]
    assert board.viewer_row.rank == 9


def test_people_who_opted_out_are_anonymous_except_to_themselves(crowd):
    annotation.profile_update(
        user=crowd[0], display_name="Ada", team=None, show_on_leaderboard=False
    )
    annotation.profile_update(
        user=crowd[1], display_name="Bea", team=None, show_on_leaderboard=True
    )
    others = selectors.board_all_time(viewer=crowd[5])
    assert [r.name for r in others.rows[:2]] == ["anonymous", "Bea"]
    mine = selectors.board_all_time(viewer=crowd[0])
    assert mine.rows[0].name == "Ada"


def test_team_board_sums_members(crowd):
    red, blue = TeamFactory(name="Red"), TeamFactory(name="Blue")
    for person in crowd[:2]:
        annotation.profile_update(user=person, display_name="", team=red, show_on_leaderboard=True)
    annotation.profile_update(user=crowd[2], display_name="", team=blue, show_on_leaderboard=True)
    services.boards_rebuild()  # team membership changed: the team board is recomputed
    board = selectors.board_teams(viewer=crowd[2])
    assert [(r.rank, r.name, r.points) for r in board.rows] == [(1, "Red", 195), (2, "Blue", 90)]
    assert board.rows[1].is_viewer


def test_a_contest_board_counts_only_that_contest(crowd):
    contest = services.contest_ensure_week(moment=timezone.now())
    give(crowd[11], 7, contest=contest)
    services.boards_rebuild()
    board = selectors.board_contest(contest=contest, viewer=crowd[11])
    assert [(r.name, r.points, r.is_viewer) for r in board.rows] == [("p11", 7, True)]
    assert not board.frozen


@needs_redis
def test_redis_board_equals_the_ledger_after_a_rebuild(crowd):
    services.boards_rebuild()
    assert boards.compare(boards.ALL).total == 0
    client = boards.redis_client()
    assert client.zscore(boards.redis_key(boards.ALL), boards.member_key(crowd[0].pk)) == 100
    assert selectors.board_all_time(viewer=crowd[0]).rows[0].name == "p00"


@needs_redis
def test_reads_come_from_redis_and_agree_with_sql(crowd, settings):
    settings.FLOCK_LEADERBOARD_SIZE = 4
    services.boards_rebuild()
    from_redis = selectors.board_all_time(viewer=crowd[9])
    redis_url = settings.REDIS_URL
    settings.REDIS_URL = ""
    from_sql = selectors.board_all_time(viewer=crowd[9])
    settings.REDIS_URL = redis_url
    assert [(r.rank, r.member, r.points) for r in from_redis.rows] == [
        (r.rank, r.member, r.points) for r in from_sql.rows
    ]
    assert [(r.rank, r.member) for r in from_redis.around] == [
        (r.rank, r.member) for r in from_sql.around
    ]


@needs_redis
def test_a_forced_drift_is_found_logged_and_repaired(crowd, caplog):
    services.boards_rebuild()
    client = boards.redis_client()
    key = boards.redis_key(boards.ALL)
    client.zincrby(key, 1000, boards.member_key(crowd[5].pk))  # a wrong score
    client.zrem(key, boards.member_key(crowd[6].pk))  # a missing member
    client.zadd(key, {"999999": 3})  # an extra one
    drifted = services.boards_check()
    assert [(d.board, d.missing, d.extra, d.wrong) for d in drifted] == [(boards.ALL, 1, 1, 1)]
    assert "drifted from the ledger" in caplog.text
    assert boards.compare(boards.ALL).total == 0
    assert services.boards_check() == []


@needs_redis
def test_points_reach_redis_when_their_transaction_commits(
    alice, bob, carol, django_capture_on_commit_callbacks
):
    from tests.factories import submitted

    entry = submitted(alice)
    with django_capture_on_commit_callbacks(execute=True):
        annotation.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
        annotation.review_record(entry=entry, reviewer=carol, verdict="approve", rating=4)
    client = boards.redis_client()
    assert client.zscore(boards.redis_key(boards.ALL), boards.member_key(alice.pk)) == 15
    assert client.zscore(boards.redis_key(boards.ALL), boards.member_key(bob.pk)) == 2
    assert boards.compare(boards.ALL).total == 0


def test_rebuild_command_says_what_it_did(crowd, capsys, settings):
    from django.core.management import call_command

    call_command("leaderboard_rebuild")
    out = capsys.readouterr().out
    if settings.REDIS_URL:
        assert "all: 12 members" in out
    else:
        assert "boards are read from the database" in out


@pytest.mark.parametrize("viewer_index", [3, 4])
def test_a_viewer_just_below_the_top_is_shown_once_with_the_rows_after(
    crowd, settings, viewer_index
):
    settings.FLOCK_LEADERBOARD_SIZE = 3
    board = selectors.board_all_time(viewer=crowd[viewer_index])
    shown = [r.name for r in [*board.rows, *board.around]]
    assert len(shown) == len(set(shown))
    assert board.viewer_row.name == f"p{viewer_index:02d}"
    assert board.viewer_row.rank == viewer_index + 1
    assert "p03" in shown  # rank 4 is never lost between the top and the neighbours


def _tied_crowd():
    people = [UserFactory(username=f"t{i:02d}") for i in range(12)]
    for person in people:
        give(person, 10)
    return people


def test_ties_come_out_in_the_same_order_from_sql_and_from_redis(db, settings):
    people = _tied_crowd()
    settings.FLOCK_LEADERBOARD_SIZE = 3
    sql = selectors.board_all_time(viewer=people[0])
    assert [r.name for r in sql.rows] == ["t11", "t10", "t09"]
    assert {r.rank for r in [*sql.rows, *sql.around]} == {1}
    if settings.REDIS_URL:
        services.boards_rebuild()
        cached = selectors.board_all_time(viewer=people[0])
        assert [(r.member, r.rank) for r in cached.rows] == [(r.member, r.rank) for r in sql.rows]
        assert [r.member for r in cached.around] == [r.member for r in sql.around]


@needs_redis
def test_a_flushed_redis_board_is_rebuilt_on_read(crowd):
    boards.redis_client().delete(boards.redis_key(boards.ALL))
    assert selectors.board_all_time(viewer=crowd[0]).rows[0].points == 100
    assert boards.compare(boards.ALL).total == 0


def test_an_unreachable_redis_falls_back_to_the_ledger(crowd, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    board = selectors.board_all_time(viewer=crowd[0])
    assert board.rows[0].points == 100
    assert "reading board all from the ledger" in caplog.text
