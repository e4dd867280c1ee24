"""A moderator's overturn in the ledger: points taken back by compensating events on every board
(a finalised contest's frozen standings excepted), earned again when the entry is accepted
again, and a replay that adds nothing twice."""

import datetime
import os

import pytest
from django.db.models import Sum

from annotation import services as annotation
from annotation.models import Decision
from leaderboard import boards, selectors, services
from leaderboard.models import Contest, ScoreEvent, Standing
from tests.factories import TeamFactory, UserFactory, approve, reject, submitted

pytestmark = pytest.mark.django_db

needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL (CI does)"
)

ACCEPTED_POINTS = 10 + 5  # open_qa: 10 × 1, plus the bonus while the category is short


def accepted_last_week(alice, bob, erin, now):
    """A contest that ended an hour ago, in its grace period until tomorrow, and Alice's entry
    from it accepted by Bob and Erin."""
    contest = Contest.objects.create(
        name="Last week",
        starts_at=now - datetime.timedelta(days=7),
        ends_at=now - datetime.timedelta(hours=1),
        grace_ends_at=now + datetime.timedelta(days=1),
    )
    entry = submitted(alice, submitted_at=now - datetime.timedelta(days=2))
    approve(entry, bob)
    approve(entry, erin)
    return contest, entry


@pytest.fixture
def erin(db):
    """Erin is a third reviewer."""
    return UserFactory(username="erin")


def ledger_totals() -> dict[str, int]:
    rows = ScoreEvent.objects.values_list("user__username").annotate(total=Sum("points"))
    return dict(rows)


@pytest.fixture
def accepted_with_a_dissent(alice, bob, dave, erin):
    """Alice's entry: Dave rejects it, Bob and Erin approve, so it is accepted (2 to 1)."""
    entry = submitted(alice)
    reject(entry, dave)
    approve(entry, bob)
    approve(entry, erin)
    entry.refresh_from_db()
    assert entry.status == "accepted"
    return entry


def overturn(entry, moderator, verdict, reason="The answer is wrong: water boils at 100 °C."):
    return annotation.entry_overturn(
        entry=entry, moderator=moderator, verdict=verdict, reason=reason
    )


def board_points(board) -> dict[str, int]:
    return {row.name: row.points for row in [*board.rows, *board.around]}


def board_accepted(board) -> dict[str, int]:
    return {row.name: row.accepted for row in [*board.rows, *board.around]}


def test_overturning_an_acceptance_takes_its_points_back_on_every_board(
    accepted_with_a_dissent, alice, bob, carol, dave, erin, client
):
    red = TeamFactory(name="Red")
    for person in (alice, bob):
        annotation.profile_update(user=person, display_name="", team=red, show_on_leaderboard=True)
    entry = accepted_with_a_dissent
    contest = services.contest_for_moment(entry.submitted_at)
    services.boards_rebuild()  # on_commit never fires inside a test's transaction
    assert ledger_totals() == {"alice": ACCEPTED_POINTS, "bob": 2, "erin": 2}
    assert board_accepted(selectors.board_all_time(viewer=alice))["alice"] == 1

    overturn(entry, carol, "reject")
    services.boards_rebuild()

    # Nothing in the ledger was edited or deleted: three compensating events, one new score.
    kinds = sorted(ScoreEvent.objects.values_list("kind", "user__username", "points"))
    assert kinds == [
        ("entry_accepted", "alice", ACCEPTED_POINTS),
        ("entry_reversed", "alice", -ACCEPTED_POINTS),
        ("review_agreed", "bob", 2),
        ("review_agreed", "dave", 2),  # Dave rejected: he agrees with the new outcome
        ("review_agreed", "erin", 2),
        ("review_reversed", "bob", -2),
        ("review_reversed", "erin", -2),
    ]
    assert ledger_totals() == {"alice": 0, "bob": 0, "dave": 2, "erin": 0}
    all_time = selectors.board_all_time(viewer=alice)
    assert board_points(all_time) == {"alice": 0, "bob": 0, "dave": 2, "erin": 0}
    assert board_accepted(all_time)["alice"] == 0
    running = selectors.board_contest(contest=contest, viewer=alice)
    assert board_points(running) == {"alice": 0, "bob": 0, "dave": 2, "erin": 0}
    assert board_accepted(running)["alice"] == 0
    teams = selectors.board_teams(viewer=alice)
    assert [(r.name, r.points, r.accepted) for r in teams.rows] == [("Red", 0, 0)]
    # "My points" is the sum of the author's ledger lines, the reversal shown as negative.
    assert selectors.points_total(user=alice) == 0
    client.force_login(alice)
    page = client.get("/points/").content.decode()
    assert 'data-kind="entry_reversed"' in page and f"-{ACCEPTED_POINTS}</td>" in page
    reversal = ScoreEvent.objects.get(kind="entry_reversed")
    original = ScoreEvent.objects.get(kind="entry_accepted")
    assert reversal.object_key == f"event:{original.pk}"
    assert (reversal.contest, reversal.entry) == (contest, entry)
    assert f"overturned the decision on #{entry.pk} (was accepted; now rejected)" in (
        reversal.reason
    )


def test_rejected_then_approved_then_rejected_and_approved_again_earns_again(
    alice, bob, carol, dave
):
    entry = submitted(alice)
    reject(entry, bob)
    reject(entry, dave)
    assert ledger_totals() == {"bob": 2, "dave": 2}
    first = Decision.objects.get(entry=entry)
    assert ScoreEvent.objects.filter(object_key__endswith=f"@{first.pk}").count() == 0

    overturn(entry, carol, "approve", "It is right; the reviewers misread the question.")
    second = Decision.objects.get(entry=entry, overturn__isnull=False)
    assert (second.round, second.outcome, second.decided_by) == (1, "accepted", carol)
    assert ledger_totals() == {"alice": ACCEPTED_POINTS, "bob": 0, "dave": 0}
    # A decision after an overturn of the same entry scores under keys qualified with its id.
    assert ScoreEvent.objects.get(kind="entry_accepted").object_key == (
        f"entry:{entry.pk}@{second.pk}"
    )

    overturn(entry, carol, "reject")
    overturn(entry, carol, "approve", "On second thoughts it is fine.")
    last = Decision.objects.filter(entry=entry).latest("pk")
    assert ledger_totals() == {"alice": ACCEPTED_POINTS, "bob": 0, "dave": 0}
    assert set(
        ScoreEvent.objects.filter(kind="entry_accepted").values_list("object_key", flat=True)
    ) == {f"entry:{entry.pk}@{second.pk}", f"entry:{entry.pk}@{last.pk}"}
    assert selectors.board_all_time(viewer=alice).rows[0].accepted == 1


def test_a_reopened_entry_is_decided_again_by_a_new_round(
    accepted_with_a_dissent, alice, bob, carol, dave, erin
):
    entry = accepted_with_a_dissent
    overturn(entry, carol, "reopen", "Please check the figures again.")
    entry.refresh_from_db()
    assert (entry.status, entry.review_round, entry.review_count) == ("submitted", 2, 0)
    assert ledger_totals() == {"alice": 0, "bob": 0, "erin": 0}

    frank, gina = UserFactory(username="frank"), UserFactory(username="gina")
    approve(entry, frank)
    approve(entry, gina)
    entry.refresh_from_db()
    assert entry.status == "accepted"
    new = Decision.objects.get(entry=entry, round=2)
    assert new.overturn is None  # consensus decided the new round
    assert ledger_totals() == {
        "alice": ACCEPTED_POINTS,
        "bob": 0,
        "erin": 0,
        "frank": 2,
        "gina": 2,
    }
    assert ScoreEvent.objects.get(kind="review_agreed", user=frank).object_key.endswith(
        f"@{new.pk}"
    )


def test_replaying_twice_after_overturns_adds_nothing(
    accepted_with_a_dissent, alice, bob, carol, dave
):
    overturn(accepted_with_a_dissent, carol, "reject")
    other = submitted(bob)
    approve(other, alice)
    approve(other, dave)
    overturn(other, carol, "reopen", "Needs a second look.")
    before, count = ledger_totals(), ScoreEvent.objects.count()
    for _ in range(2):
        assert services.score_replay() == 0
    assert (ledger_totals(), ScoreEvent.objects.count()) == (before, count)


def test_a_lost_reversal_is_restored_by_replay(accepted_with_a_dissent, carol):
    overturn(accepted_with_a_dissent, carol, "reject")
    before = ledger_totals()
    ScoreEvent.objects.filter(kind="entry_reversed").delete()
    assert services.score_replay() == 1
    assert ledger_totals() == before


def test_a_finalised_contest_keeps_its_standings_while_all_time_changes(
    alice, bob, carol, dave, erin, now, time_machine
):
    contest, entry = accepted_last_week(alice, bob, erin, now)
    assert ScoreEvent.objects.get(kind="entry_accepted").contest == contest
    time_machine.move_to(contest.grace_ends_at + datetime.timedelta(hours=1))
    services.contest_finalize(contest=contest)
    frozen = list(Standing.objects.filter(contest=contest).values_list("user__username", "points"))
    assert frozen == [("alice", ACCEPTED_POINTS)]

    overturn(entry, carol, "reject")
    services.boards_rebuild()
    reversal = ScoreEvent.objects.get(kind="entry_reversed")
    assert reversal.contest is None and "after Last week closed" in reversal.reason
    contest.refresh_from_db()
    board = selectors.board_contest(contest=contest, viewer=alice)
    assert board.frozen and [(r.name, r.points, r.accepted) for r in board.rows] == [
        ("alice", ACCEPTED_POINTS, 1)
    ]
    assert board_points(selectors.board_all_time(viewer=alice))["alice"] == 0
    assert selectors.points_total(user=alice) == 0


def contest_sum(contest) -> int:
    return ScoreEvent.objects.filter(contest=contest).aggregate(total=Sum("points"))["total"]


def test_overturns_between_grace_end_and_finalising_leave_the_contest_as_it_closed(
    alice, bob, carol, erin, now, time_machine
):
    """One rule for points earned and taken back: once the grace period is over, an overturn
    moves all-time only, both ways, so the contest keeps the points it closed with."""
    contest, entry = accepted_last_week(alice, bob, erin, now)
    assert contest_sum(contest) == ACCEPTED_POINTS  # the reviews came after it ended
    grace_ends = contest.grace_ends_at

    time_machine.move_to(grace_ends + datetime.timedelta(minutes=2), tick=False)
    overturn(entry, carol, "reject")  # the finalising job has not run yet
    reversal = ScoreEvent.objects.get(kind="entry_reversed")
    assert reversal.contest is None and "after Last week closed" in reversal.reason
    assert contest_sum(contest) == ACCEPTED_POINTS

    time_machine.move_to(grace_ends + datetime.timedelta(minutes=3), tick=False)
    overturn(entry, carol, "approve", "On second thoughts it is fine.")
    again = ScoreEvent.objects.filter(kind="entry_accepted").latest("pk")
    assert again.contest is None and "after Last week closed" in again.reason
    assert contest_sum(contest) == ACCEPTED_POINTS
    assert ledger_totals()["alice"] == ACCEPTED_POINTS

    time_machine.move_to(grace_ends + datetime.timedelta(minutes=5), tick=False)
    services.contest_finalize(contest=contest)
    standings = dict(
        Standing.objects.filter(contest=contest).values_list("user__username", "points")
    )
    assert standings == {"alice": ACCEPTED_POINTS}
    services.boards_rebuild()
    assert board_points(selectors.board_all_time(viewer=alice))["alice"] == ACCEPTED_POINTS


@needs_redis
def test_the_cached_boards_follow_an_overturn_without_drift(
    alice, bob, carol, dave, erin, django_capture_on_commit_callbacks
):
    red = TeamFactory(name="Red")
    annotation.profile_update(user=alice, display_name="", team=red, show_on_leaderboard=True)
    with django_capture_on_commit_callbacks(execute=True):
        entry = submitted(alice)
        reject(entry, dave)
        approve(entry, bob)
        approve(entry, erin)
    with django_capture_on_commit_callbacks(execute=True):
        overturn(entry, carol, "reject")
    client = boards.redis_client()
    assert client.zscore(boards.redis_key(boards.ALL), boards.member_key(alice.pk)) == 0
    assert client.zscore(boards.redis_key(boards.ALL), boards.member_key(dave.pk)) == 2
    assert client.zscore(boards.redis_key(boards.TEAM), boards.member_key(red.pk)) == 0
    assert services.boards_check(repair=False) == []
