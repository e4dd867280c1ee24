"""A board page's accepted and review counts per row are counted once for a while for the whole
site (FLOCK_BOARD_COUNTS_SECONDS), not on every page: they read everything the people on the
board did. A member's are counted again as soon as points of theirs are added, so that a row's
points and accepted count move together; a review alone shows within the seconds. Without Redis
every board is read live, counts included."""

import pytest

from leaderboard import boards, selectors, services
from tests.factories import approve, handed_to, submitted
from tests.leaderboard.test_boards import give, needs_redis

pytestmark = pytest.mark.django_db


def row_of(person):
    board = selectors.board_all_time(viewer=person)
    return next(row for row in [*board.rows, *board.around] if row.member == person.pk)


@needs_redis
def test_a_rows_counts_are_reused_until_its_points_change(alice, bob, settings):
    settings.FLOCK_BOARD_COUNTS_SECONDS = 30
    give(alice, 10)
    services.boards_rebuild()
    assert (row_of(alice).accepted, row_of(alice).reviews) == (1, 0)

    approve(handed_to(submitted(bob), alice), alice)  # a review: no points until a decision
    assert row_of(alice).reviews == 0  # counted a moment ago

    # Points of hers are added (what scoring does when its transaction commits): her row is
    # counted again, with the new accepted entry and the review.
    give(alice, 10)
    boards.add_points(points=10, user_id=alice.pk, team_id=None, contest_id=None)
    mine = row_of(alice)
    assert (mine.points, mine.accepted, mine.reviews) == (20, 2, 1)


@needs_redis
def test_a_rebuilt_board_counts_every_row_again(alice, bob, settings):
    settings.FLOCK_BOARD_COUNTS_SECONDS = 30
    give(alice, 10)
    give(bob, 5)
    services.boards_rebuild()
    assert row_of(bob).accepted == 1
    give(bob, 5)
    assert row_of(bob).accepted == 1
    services.boards_rebuild()
    assert row_of(bob).accepted == 2


def test_with_no_seconds_every_page_counts(alice, settings):
    settings.FLOCK_BOARD_COUNTS_SECONDS = 0
    give(alice, 10)
    services.boards_rebuild()
    assert row_of(alice).accepted == 1
    give(alice, 10)
    assert row_of(alice).accepted == 2
