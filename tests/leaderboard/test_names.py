"""Names alike on one board are told apart (team, then a number); anonymous stays anonymous."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation import services as annotation
from leaderboard import selectors, services
from leaderboard.models import Contest, ScoreEvent
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def give(user, points, contest=None):
    return ScoreEvent.objects.create(
        kind="entry_accepted",
        object_key=f"test:{user.pk}:{ScoreEvent.objects.count()}",
        user=user,
        points=points,
        contest=contest,
        reason="test",
    )


def person(username, name, team=None, *, shown=True):
    user = UserFactory(username=username)
    annotation.profile_update(user=user, display_name=name, team=team, show_on_leaderboard=shown)
    return user


@pytest.fixture
def sams(db):
    """Four people called Sam Lee (spelt a little differently), two of them in Finance, one in
    Sales, one in no team; and Ana, whose name is her own."""
    finance, sales = TeamFactory(name="Finance"), TeamFactory(name="Sales")
    people = {
        "finance_1": person("slee", "Sam Lee", finance),
        "sales": person("sam.lee", "sam lee", sales),
        "finance_2": person("samuel", " Sam  Lee ", finance),
        "no_team": person("sl", "SAM LEE"),
        "ana": person("ana", "Ana"),
    }
    for points, user in enumerate(people.values(), start=1):
        give(user, points * 10)
    services.boards_rebuild()
    return people


def named(board) -> dict[int, str]:
    return {row.member: row.name for row in [*board.rows, *board.around]}


def expected(sams) -> dict[int, str]:
    return {
        sams["finance_1"].pk: "Sam Lee (Finance) · 1",
        sams["sales"].pk: "sam lee (Sales)",
        sams["finance_2"].pk: "Sam  Lee (Finance) · 2",
        sams["no_team"].pk: "SAM LEE",
        sams["ana"].pk: "Ana",
    }


def test_names_alike_get_the_team_then_a_number_on_the_all_time_board(sams):
    viewer = sams["ana"]
    assert named(selectors.board_all_time(viewer=viewer)) == expected(sams)


def test_two_alike_without_a_team_are_numbered_by_account(db):
    first, second = person("a1", "Kim"), person("a2", "kim")
    assert selectors.display_names({first.pk, second.pk}) == {
        first.pk: "Kim · 1",
        second.pk: "kim · 2",
    }


def test_people_who_hid_their_name_are_not_counted_in_the_numbers(db):
    """A "· 2" with nobody shown before it would tell that someone hidden shares the name."""
    ops = TeamFactory(name="Ops")
    person("hidden", "Kim", ops, shown=False)
    first, second = person("a1", "Kim", ops), person("a2", "kim", ops)
    assert selectors.display_names({first.pk, second.pk}) == {
        first.pk: "Kim (Ops) · 1",
        second.pk: "kim (Ops) · 2",
    }


def test_a_number_is_the_place_among_all_accounts_of_that_name_and_team(sams, now):
    """Numbered by user id among every account of that name and team, listed or not, so one
    person has the same number on the board, in the chart legend and in the standings CSV."""
    finance = sams["finance_1"].profile.team
    third = person("sam3", "SAM LEE", finance, shown=False)
    give(third, 1)
    ones = {sams["finance_2"].pk, third.pk}
    assert selectors.display_names(ones, real=True) == {
        sams["finance_2"].pk: "Sam  Lee (Finance) · 2",
        third.pk: "SAM LEE (Finance) · 3",
    }
    services.boards_rebuild()
    board = named(selectors.board_all_time(viewer=sams["ana"]))
    assert board[sams["finance_2"].pk] == "Sam  Lee (Finance) · 2"
    assert board[third.pk] == "anonymous"
    contest = services.contest_ensure_week(moment=now)
    give(sams["finance_2"], 50, contest=contest)
    give(sams["sales"], 40, contest=contest)
    give(third, 30, contest=contest)
    legend = [series.name for series in selectors.contest_progress(contest=contest, viewer=third)]
    assert legend == ["Sam  Lee (Finance) · 2", "sam lee (Sales)", "SAM LEE (Finance) · 3"]
    csv_names = [row.name for row in selectors.standings_for_csv(contest=contest)]
    assert csv_names == legend


def test_a_name_unlike_the_others_is_left_alone(sams):
    names = selectors.display_names({sams["finance_1"].pk, sams["ana"].pk})
    assert names == {sams["finance_1"].pk: "Sam Lee", sams["ana"].pk: "Ana"}


def test_a_live_contest_board_tells_the_names_apart(sams, now):
    contest = services.contest_ensure_week(moment=now)
    for user in sams.values():
        give(user, 5, contest=contest)
    services.boards_rebuild()
    board = selectors.board_contest(contest=contest, viewer=sams["ana"])
    assert not board.frozen
    assert named(board) == expected(sams)


def _finalised_contest(sams, now) -> Contest:
    contest = Contest.objects.create(
        name="Past sprint",
        starts_at=now - datetime.timedelta(days=9),
        ends_at=now - datetime.timedelta(days=4),
        grace_ends_at=now - datetime.timedelta(days=2),
    )
    for user in sams.values():
        give(user, 5, contest=contest)
    return services.contest_finalize(contest=contest, actor=UserFactory(is_staff=True))


def test_the_frozen_standings_tell_the_names_apart(sams, now):
    contest = _finalised_contest(sams, now)
    board = selectors.board_contest(contest=contest, viewer=sams["ana"])
    assert board.frozen
    assert named(board) == expected(sams)


def test_the_standings_csv_tells_real_names_apart(sams, client, carol, now):
    # Hidden on the boards, but the admins' file has everyone's real name, told apart too.
    annotation.profile_update(
        user=sams["no_team"], display_name="Sam Lee", team=None, show_on_leaderboard=False
    )
    contest = _finalised_contest(sams, now)
    client.force_login(carol)
    response = client.get(f"/contests/{contest.pk}/standings.csv")
    names = {row[1] for row in list(csv.reader(io.StringIO(response.content.decode())))[1:]}
    assert names == {*expected(sams).values()} - {"SAM LEE"} | {"Sam Lee"}


def test_the_api_shows_the_names_told_apart(sams, api_client):
    api_client.force_authenticate(sams["ana"])
    rows = api_client.get("/api/v1/leaderboard/").json()["rows"]
    assert {row["user"] for row in rows} == {*expected(sams).values()}


def test_anonymous_rows_are_not_told_apart(db):
    team = TeamFactory(name="Finance")
    hidden = [person(f"h{i}", "Sam Lee", team, shown=False) for i in range(2)]
    shown = person("shown", "Sam Lee", team)
    viewer = person("viewer", "Viewer")
    for user in [*hidden, shown, viewer]:
        give(user, 10)
    services.boards_rebuild()
    names = named(selectors.board_all_time(viewer=viewer))
    assert [names[user.pk] for user in hidden] == ["anonymous", "anonymous"]
    assert names[shown.pk] == "Sam Lee"  # no visible name like it: nothing to tell apart
    # Someone who hid their name still sees it on their own row.
    assert named(selectors.board_all_time(viewer=hidden[0]))[hidden[0].pk].startswith("Sam Lee")


def test_telling_names_apart_costs_no_query_per_row(db, django_assert_max_num_queries):
    team = TeamFactory(name="Finance")
    plain = [person(f"p{i}", f"Person {i}", team) for i in range(3)]
    alike = [person(f"s{i}", "Sam Lee", team if i % 2 else None) for i in range(12)]
    for user in [*plain, *alike]:
        give(user, 10)
    services.boards_rebuild()
    with CaptureQueriesContext(connection) as few:
        selectors.display_names({user.pk for user in plain})
    # Numbering those still alike takes one more query, however many rows and groups.
    with django_assert_max_num_queries(len(few) + 1):
        names = selectors.display_names({user.pk for user in alike})
    assert len(set(names.values())) == len(alike)
    with CaptureQueriesContext(connection) as small_board:
        selectors.board_all_time(viewer=plain[0])
    for i in range(12):
        give(person(f"t{i}", "Sam Lee", team), 20)
    services.boards_rebuild()
    with django_assert_max_num_queries(len(small_board) + 1):
        board = selectors.board_all_time(viewer=plain[0])
    assert "Sam Lee (Finance) · 12" in {row.name for row in board.rows}
