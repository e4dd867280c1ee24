"""A board row's accepted and review counts are kept in Redis beside its points (reading them
from the database made a page take 300 ms at a million entries): an acceptance, or the
reversal of one, moves the accepted count with the points; a review moves its reviewer's count
on every board it belongs to once it commits; a rebuild or the periodic check counts them all
again. Without Redis every board is read live, counts included."""

import datetime

import pytest
import time_machine

from annotation import services as annotation
from leaderboard import boards, selectors, services
from leaderboard.models import Contest
from tests.factories import TeamFactory, approve, handed_to, reject, submitted
from tests.leaderboard.test_boards import give, needs_redis

pytestmark = pytest.mark.django_db

MOMENT = datetime.datetime(2026, 3, 11, 10, 0, tzinfo=datetime.UTC)


def row_of(board, member):
    return next(row for row in [*board.rows, *board.around] if row.member == member)


def counts_of(board, member):
    row = row_of(board, member)
    return row.points, row.accepted, row.reviews


@pytest.fixture
def week(db):
    """A contest whose window holds MOMENT, the clock every test here runs at."""
    with time_machine.travel(MOMENT, tick=False):
        yield Contest.objects.create(
            name="Week 11",
            starts_at=MOMENT - datetime.timedelta(days=2),
            ends_at=MOMENT + datetime.timedelta(days=5),
            grace_ends_at=MOMENT + datetime.timedelta(days=6),
        )


@pytest.fixture
def red(alice, bob):
    team = TeamFactory(name="Red")
    for person in (alice, bob):
        annotation.profile_update(user=person, display_name="", team=team, show_on_leaderboard=True)
    return team


@needs_redis
def test_reviews_and_acceptances_count_on_every_board_as_they_commit(
    alice, bob, carol, dave, red, week, django_capture_on_commit_callbacks
):
    services.boards_rebuild()  # every board whole, and nothing on them yet
    with django_capture_on_commit_callbacks(execute=True):
        entry = submitted(alice)
        approve(handed_to(entry, bob), bob)
        approve(handed_to(entry, dave), dave)
        approve(handed_to(submitted(alice), carol), carol)  # one review, no decision yet

    # Nobody rebuilt anything: the counts moved in Redis, beside the points.
    client = boards.redis_client()
    assert client.hget(boards.counts_key(boards.ALL), f"r{bob.pk}") == "1"
    everyone = selectors.board_all_time(viewer=alice)
    assert counts_of(everyone, alice.pk)[1:] == (1, 0)
    assert counts_of(everyone, bob.pk)[1:] == (0, 1)
    # A review with no points yet (no decision) is counted too, for when its points come.
    assert boards.counts_read(boards.ALL, {carol.pk}) == {carol.pk: (0, 1)}
    contest = selectors.board_contest(contest=week, viewer=bob)
    assert counts_of(contest, alice.pk)[1:] == (1, 0)
    assert counts_of(contest, bob.pk)[1:] == (0, 1)
    teams = selectors.board_teams(viewer=alice)
    assert (row_of(teams, red.pk).accepted, row_of(teams, red.pk).reviews) == (1, 1)
    assert row_of(teams, red.pk).members == 2
    assert services.boards_check(repair=False) == []


@needs_redis
def test_an_overturn_takes_the_accepted_entry_back_with_its_points(
    alice, bob, carol, dave, django_capture_on_commit_callbacks
):
    services.boards_rebuild()
    with django_capture_on_commit_callbacks(execute=True):
        entry = submitted(alice)
        approve(handed_to(entry, bob), bob)
        approve(handed_to(entry, dave), dave)
    assert counts_of(selectors.board_all_time(viewer=alice), alice.pk)[1] == 1
    with django_capture_on_commit_callbacks(execute=True):
        annotation.entry_overturn(entry=entry, moderator=carol, verdict="reject", reason="copied")
    assert counts_of(selectors.board_all_time(viewer=alice), alice.pk)[:2] == (0, 0)
    assert services.boards_check(repair=False) == []


def kept(board, member, kind="r"):
    value = boards.redis_client().hget(boards.counts_key(board), f"{kind}{member}")
    return int(value or 0)


@needs_redis
def test_a_review_after_a_contests_window_counts_all_time_only(
    alice, bob, week, django_capture_on_commit_callbacks
):
    services.boards_rebuild()
    later = week.ends_at + datetime.timedelta(hours=1)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        reject(handed_to(submitted(alice), bob), bob)  # one rejection: no decision, no points
    # No contest holds that moment (the next weekly one would overlap this one, so it is not
    # made): the review counts all-time only.
    assert not Contest.objects.exclude(pk=week.pk).exists()
    assert kept(boards.ALL, bob.pk) == 1
    assert kept(boards.contest_board(week.pk), bob.pk) == 0
    assert services.boards_check(repair=False) == []


@needs_redis
def test_a_contest_whose_window_moves_is_counted_again(
    alice, bob, week, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reject(handed_to(submitted(alice), bob), bob)
    board = boards.contest_board(week.pk)
    services.boards_rebuild()
    assert boards.counts_read(board, {bob.pk}) == {bob.pk: (0, 1)}
    with django_capture_on_commit_callbacks(execute=True):
        week.starts_at = MOMENT + datetime.timedelta(hours=1)
        week.save()  # as the admin's form saves it (contest_save saves it the same way)
    selectors.board_contest(contest=week, viewer=bob)  # its first page since: rebuilt
    assert boards.counts_read(board, {bob.pk}) == {bob.pk: (0, 0)}
    assert services.boards_check(repair=False) == []


@needs_redis
def test_wrong_or_missing_counts_are_found_and_counted_again(alice, bob, caplog):
    give(alice, 10)
    give(bob, 5)
    services.boards_rebuild()
    client = boards.redis_client()
    client.hincrby(boards.counts_key(boards.ALL), f"a{alice.pk}", 3)  # a wrong count
    drifted = services.boards_check()
    assert [(d.board, d.counts, d.wrong) for d in drifted] == [(boards.ALL, 1, 0)]
    assert "drifted from the ledger" in caplog.text
    assert counts_of(selectors.board_all_time(viewer=alice), alice.pk) == (10, 1, 0)

    # A flushed Redis that has since taken an increment holds a partial hash: it is not
    # read as whole, and the board is rebuilt on its next page.
    client.delete(boards.counts_key(boards.ALL))
    client.hincrby(boards.counts_key(boards.ALL), f"r{bob.pk}", 1)
    assert counts_of(selectors.board_all_time(viewer=alice), bob.pk) == (5, 1, 0)
    assert client.hget(boards.counts_key(boards.ALL), f"r{bob.pk}") is None
    assert services.boards_check(repair=False) == []


@needs_redis
def test_counts_read_from_redis_are_the_ones_counted_live(alice, bob, carol, dave, settings):
    give(alice, 10)
    approve(handed_to(submitted(alice), bob), bob)
    approve(handed_to(submitted(bob), dave), dave)
    services.boards_rebuild()
    kept = selectors.board_all_time(viewer=alice)
    settings.REDIS_URL = ""
    live = selectors.board_all_time(viewer=alice)
    assert [(r.member, r.points, r.accepted, r.reviews) for r in kept.rows] == [
        (r.member, r.points, r.accepted, r.reviews) for r in live.rows
    ]


def test_without_redis_every_page_counts(alice, bob, settings):
    settings.REDIS_URL = ""
    give(alice, 10)
    assert counts_of(selectors.board_all_time(viewer=alice), alice.pk)[1] == 1
    give(alice, 10)
    approve(handed_to(submitted(bob), alice), alice)
    assert counts_of(selectors.board_all_time(viewer=alice), alice.pk) == (20, 2, 1)


@needs_redis
def test_an_empty_board_is_whole_and_not_counted_again_on_every_page(alice):
    services.boards_rebuild()  # nobody has points: the sorted set does not even exist
    client = boards.redis_client()
    client.hset(boards.counts_key(boards.ALL), "probe", 1)  # a rebuild would replace the hash
    assert selectors.board_all_time(viewer=alice).rows == []
    assert client.hget(boards.counts_key(boards.ALL), "probe") == "1"


@needs_redis
def test_while_one_page_rebuilds_a_board_the_others_read_the_ledger(alice, bob):
    give(alice, 10)
    give(bob, 5)
    client = boards.redis_client()
    client.set(f"{boards.counts_key(boards.ALL)}:rebuilding-lock", 1)  # another page's rebuild
    board = selectors.board_all_time(viewer=bob)
    assert [(r.member, r.points, r.accepted) for r in board.rows] == [
        (alice.pk, 10, 1),
        (bob.pk, 5, 1),
    ]
    assert not client.exists(boards.counts_key(boards.ALL))  # left to the page that rebuilds
    client.delete(f"{boards.counts_key(boards.ALL)}:rebuilding-lock")
    selectors.board_all_time(viewer=bob)
    assert client.hget(boards.counts_key(boards.ALL), boards.BUILT) == "2"  # its members
