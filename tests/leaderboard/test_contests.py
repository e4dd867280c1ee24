import csv
import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from leaderboard import selectors, services
from leaderboard.csv_safety import spreadsheet_safe
from leaderboard.models import Contest, ScoreEvent, Standing
from tests.factories import submitted
from tests.when import datetime_local, days_ahead

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def berlin(settings):
    """The company is in Berlin: its weeks start Monday 00:00 local time (Sunday 23:00 UTC)."""
    settings.TIME_ZONE = "Europe/Berlin"


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=BERLIN)


def test_the_weekly_contest_runs_monday_to_monday_in_the_company_time_zone(berlin):
    contest = services.contest_ensure_week(moment=at(2026, 11, 25, 12, 0))  # a Wednesday
    assert contest.starts_at == at(2026, 11, 23, 0, 0)
    assert contest.ends_at == at(2026, 11, 30, 0, 0)
    assert contest.grace_ends_at == at(2026, 12, 2, 0, 0)
    assert (contest.name, contest.week) == ("Week 48, 2026", "2026-W48")


def test_the_weekly_job_run_twice_changes_nothing_the_second_time(berlin, alice, bob, carol):
    now = at(2026, 11, 25, 12, 0)
    first = services.contests_tick(now=now)
    snapshot = list(Contest.objects.values())
    second = services.contests_tick(now=now)
    assert first == second
    assert list(Contest.objects.values()) == snapshot
    assert Contest.objects.count() == 1


def test_an_entry_counts_for_the_week_it_was_submitted_in_across_the_boundary(
    berlin, alice, bob, carol, accept
):
    this_week = services.contest_ensure_week(moment=timezone.now())
    boundary = this_week.ends_at  # next Monday 00:00 in Berlin (Sunday 23:00 UTC)
    late_sunday = submitted(alice, submitted_at=boundary - datetime.timedelta(minutes=1))
    early_monday = submitted(alice, submitted_at=boundary + datetime.timedelta(minutes=1))
    accept(late_sunday, bob, carol)
    accept(early_monday, bob, carol)
    next_week = Contest.objects.exclude(pk=this_week.pk).get()
    assert next_week.starts_at == boundary
    events = ScoreEvent.objects.filter(kind="entry_accepted")
    assert events.get(entry=late_sunday).contest == this_week
    assert events.get(entry=early_monday).contest == next_week


@pytest.fixture
def next_week(berlin, time_machine) -> datetime.datetime:
    """Monday 00:00 (Berlin) of the week after today's; the clock is set to its Wednesday noon,
    so that a test about "now" inside a week holds whatever day the suite runs on."""
    today = timezone.now().astimezone(BERLIN).date()
    monday = today + datetime.timedelta(days=7 - today.weekday())
    starts = datetime.datetime.combine(monday, datetime.time.min, tzinfo=BERLIN)
    time_machine.move_to(starts + datetime.timedelta(days=2, hours=12))
    return starts


def test_an_admin_contest_takes_the_place_of_the_weekly_one(next_week, carol, alice, bob, accept):
    tuesday, wednesday = (next_week + datetime.timedelta(days=n) for n in (1, 2))
    contest = services.contest_save(
        actor=carol,
        values={
            "name": "Launch week",
            "starts_at": tuesday.replace(hour=9),
            "ends_at": (tuesday + datetime.timedelta(days=3)).replace(hour=18),
        },
    )
    assert contest.grace_ends_at == (tuesday + datetime.timedelta(days=5)).replace(hour=18)
    entry = accept(submitted(alice, submitted_at=wednesday.replace(hour=10)), bob, carol)
    assert ScoreEvent.objects.get(entry=entry, kind="entry_accepted").contest == contest
    assert services.contest_ensure_week(moment=wednesday.replace(hour=10)) is None


def test_a_week_made_by_a_concurrent_call_is_the_answer_not_none(berlin, monkeypatch):
    """Two workers' contest jobs at once (tests/test_scale_out.py): the other one makes the
    week's contest between this call's look-up and its overlap check, which then finds it."""
    moment = at(2026, 11, 25, 12, 0)
    overlapping = services._overlapping

    def made_meanwhile(starts, ends, **kwargs):
        Contest.objects.create(
            name="Week 48, 2026",
            week="2026-W48",
            starts_at=starts,
            ends_at=ends,
            grace_ends_at=ends + datetime.timedelta(hours=48),
        )
        return overlapping(starts, ends, **kwargs)

    monkeypatch.setattr(services, "_overlapping", made_meanwhile)
    contest = services.contest_ensure_week(moment=moment)
    assert contest is not None and contest.week == "2026-W48"
    assert Contest.objects.count() == 1


def test_contest_windows_may_not_overlap(berlin, carol):
    values = {"name": "A", "starts_at": at(2026, 12, 1, 0, 0), "ends_at": at(2026, 12, 3, 0, 0)}
    services.contest_save(actor=carol, values=values)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        services.contest_save(
            actor=carol, values={**values, "name": "B", "starts_at": at(2026, 12, 2, 0, 0)}
        )
    assert "overlaps A" in str(caught.value)
    with pytest.raises(ValidationError):
        services.contest_save(
            actor=carol,
            values={"name": "C", "starts_at": at(2026, 12, 9), "ends_at": at(2026, 12, 8)},
        )


def test_only_admins_change_contests(berlin, bob):
    from config.errors import ActionForbidden

    with pytest.raises(ActionForbidden):
        services.contest_save(
            actor=bob,
            values={"name": "Mine", "starts_at": at(2026, 12, 1), "ends_at": at(2026, 12, 2)},
        )
    assert not Contest.objects.exists()


def test_finalising_freezes_standings_and_records_winners(alice, bob, carol, dave, accept, now):
    contest = Contest.objects.create(
        name="Sprint",
        starts_at=now - datetime.timedelta(days=3),
        ends_at=now - datetime.timedelta(days=1),
        grace_ends_at=now + datetime.timedelta(hours=1),  # reviews still count, for an hour
        winner_count=1,
    )
    when = now - datetime.timedelta(days=2)
    accept(submitted(alice, submitted_at=when), bob, carol)
    accept(submitted(alice, submitted_at=when), bob, carol)
    accept(submitted(bob, submitted_at=when), carol, dave)

    assert services.contests_tick(now=now)["finalized"] == []  # still in its grace period
    later = now + datetime.timedelta(hours=2)
    result = services.contests_tick(now=later)
    assert contest.pk in result["finalized"]
    standings = list(Standing.objects.filter(contest=contest).order_by("rank"))
    assert [(s.user, s.points, s.accepted, s.is_winner) for s in standings][:2] == [
        (alice, 30, 2, True),
        (bob, 15, 1, False),  # bob's reviews were made today: they count for this week's contest
    ]

    # An entry of that week accepted once it is final counts all-time, not for the contest.
    late = accept(submitted(dave, submitted_at=when), alice, bob)
    event = ScoreEvent.objects.get(entry=late, kind="entry_accepted")
    assert event.contest is None and "counts all-time only" in event.reason
    board = selectors.board_contest(contest=Contest.objects.get(pk=contest.pk), viewer=alice)
    assert board.frozen
    assert [row.points for row in board.rows] == [s.points for s in standings]
    assert services.contests_tick(now=later)["finalized"] == []  # idempotent
    assert Standing.objects.filter(contest=contest).count() == len(standings)


def test_points_after_the_grace_period_count_all_time_only(alice, bob, carol, accept, now):
    closed = Contest.objects.create(
        name="Closed",
        starts_at=now - datetime.timedelta(days=5),
        ends_at=now - datetime.timedelta(days=3),
        grace_ends_at=now - datetime.timedelta(days=1),
    )
    in_grace = Contest.objects.create(
        name="In grace",
        starts_at=now - datetime.timedelta(days=3),
        ends_at=now - datetime.timedelta(days=1),
        grace_ends_at=now + datetime.timedelta(days=1),
    )
    too_late = accept(submitted(alice, submitted_at=now - datetime.timedelta(days=4)), bob, carol)
    on_time = accept(submitted(alice, submitted_at=now - datetime.timedelta(days=2)), bob, carol)
    events = ScoreEvent.objects.filter(kind="entry_accepted")
    assert events.get(entry=too_late).contest is None
    assert "after Closed closed" in events.get(entry=too_late).reason
    assert events.get(entry=on_time).contest == in_grace
    assert not closed.score_events.exists()


def test_a_running_contest_is_not_finalised_before_its_grace_period_ends(now):
    contest = Contest.objects.create(
        name="Running",
        starts_at=now - datetime.timedelta(days=1),
        ends_at=now - datetime.timedelta(hours=1),
        grace_ends_at=now + datetime.timedelta(hours=1),
    )
    services.contests_tick(now=now)
    contest.refresh_from_db()
    assert not contest.is_finalized and contest.phase(now) == "grace"


def test_spreadsheet_formulas_are_defused():
    cells = ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx", "Alice", 5, "a=b"]
    assert spreadsheet_safe(cells) == [
        "'=1+1",
        "'+SUM(A1)",
        "'-2",
        "'@cmd",
        "'\tx",
        "'\rx",
        "Alice",
        5,
        "a=b",
    ]


def test_standings_csv_is_escaped_and_for_admins_only(client, alice, bob, carol, accept, now):
    from annotation.services import profile_update

    profile_update(
        user=alice, display_name='=HYPERLINK("http://evil")', team=None, show_on_leaderboard=False
    )
    contest = services.contest_ensure_week(moment=now)
    accept(submitted(alice, submitted_at=now), bob, carol)

    client.force_login(bob)
    assert client.get(f"/contests/{contest.pk}/standings.csv").status_code == 403
    client.force_login(carol)
    response = client.get(f"/contests/{contest.pk}/standings.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["rank", "name", "points", "accepted", "reviews", "winner", "final"]
    assert rows[1][:3] == ["1", '\'=HYPERLINK("http://evil")', "15"]
    assert rows[1][5:] == ["", "False"]  # no winner until the contest is finalised


def test_contest_admin_page(client, bob, carol):
    client.force_login(bob)
    assert client.get("/contests/").status_code == 403
    assert client.post("/contests/", {"name": "x"}).status_code == 403

    client.force_login(carol)
    response = client.post(
        "/contests/",
        {
            "name": "Holiday drive",
            "starts_at": datetime_local(days_ahead(14, hour=9)),
            "ends_at": datetime_local(days_ahead(18, hour=17)),
            "grace_hours": "48",
            "prize": "Cake",
            "focus_bonus": "0",
            "winner_count": "3",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    contest = Contest.objects.get(name="Holiday drive")
    bad = client.post(
        f"/contests/{contest.pk}/edit/",
        {
            "name": "Holiday drive",
            "starts_at": datetime_local(days_ahead(14, hour=9)),
            "ends_at": datetime_local(days_ahead(13, hour=17)),
            "grace_hours": "48",
            "focus_bonus": "0",
            "winner_count": "3",
        },
    )
    assert bad.status_code == 400
    refused = client.post(f"/contests/{contest.pk}/finalize/", follow=True)
    assert b"not due to be finalised yet" in refused.content
    contest.refresh_from_db()
    assert not contest.is_finalized
    past = services.contest_ensure_week(moment=timezone.now() - datetime.timedelta(days=14))
    client.post(f"/contests/{past.pk}/finalize/")
    past.refresh_from_db()
    assert past.is_finalized


def test_a_finalised_contest_cannot_be_edited(carol, now):
    contest = services.contest_ensure_week(moment=now - datetime.timedelta(days=14))
    services.contest_finalize(contest=contest, actor=carol)
    from config.errors import StateConflict

    with pytest.raises(StateConflict):
        services.contest_save(actor=carol, contest=contest, values={"name": "Renamed"})


def test_nobody_outside_staff_finalises(bob, now):
    from config.errors import ActionForbidden

    contest = services.contest_ensure_week(moment=now)
    with pytest.raises(ActionForbidden):
        services.contest_finalize(contest=contest, actor=bob)
    contest.refresh_from_db()
    assert not contest.is_finalized


def test_annotation_alone_works_when_no_contest_applies(settings, alice, bob, carol, accept):
    settings.FLOCK_WEEKLY_CONTESTS = False
    entry = accept(submitted(alice), bob, carol)
    event = ScoreEvent.objects.get(entry=entry, kind="entry_accepted")
    assert event.contest is None and event.points == 15


def test_the_django_admin_applies_the_same_contest_rules(client, carol, now):
    carol.is_superuser = True
    carol.save()
    client.force_login(carol)
    existing = services.contest_ensure_week(moment=now)
    form = {
        "name": "Overlapping",
        "starts_at_0": existing.starts_at.strftime("%Y-%m-%d"),
        "starts_at_1": "12:00:00",
        "ends_at_0": existing.ends_at.strftime("%Y-%m-%d"),
        "ends_at_1": "12:00:00",
        "grace_hours": "48",
        "focus_bonus": "0",
        "winner_count": "3",
    }
    response = client.post("/admin/leaderboard/contest/add/", form)
    assert response.status_code == 200
    assert "overlaps" in response.content.decode()
    assert Contest.objects.count() == 1


@pytest.mark.parametrize(
    "multipliers",
    [
        ["closed_qa", 2],
        "2",
        {"poetry": 2},
        {"closed_qa": True},
        {"closed_qa": "2"},
        {"closed_qa": -1},
        {"closed_qa": 1e30},
        {"closed_qa": float("nan")},
    ],
)
def test_odd_multipliers_are_refused_with_a_message(carol, multipliers):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        services.contest_save(
            actor=carol,
            values={
                "name": "Odd",
                "starts_at": at(2027, 1, 4),
                "ends_at": at(2027, 1, 8),
                "multipliers": multipliers,
            },
        )
    assert "multipliers" in caught.value.message_dict
    assert not Contest.objects.exists()


def test_odd_multipliers_from_the_api_are_a_400(api_client, carol):
    api_client.force_authenticate(carol)
    body = {
        "name": "Odd",
        "starts_at": "2027-01-04T09:00:00Z",
        "ends_at": "2027-01-08T17:00:00Z",
        "multipliers": ["closed_qa", 2],
    }
    response = api_client.post("/api/v1/contests/", body, format="json")
    assert response.status_code == 400 and "multipliers" in response.json()


def test_a_window_with_points_in_it_can_no_longer_move(carol, alice, bob, accept, now):
    contest = services.contest_ensure_week(moment=now)
    accept(submitted(alice, submitted_at=now), bob, carol)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="already scored"):
        services.contest_save(
            actor=carol,
            contest=contest,
            values={"ends_at": contest.ends_at + datetime.timedelta(days=1)},
        )
    renamed = services.contest_save(actor=carol, contest=contest, values={"name": "Big week"})
    assert renamed.name == "Big week"
