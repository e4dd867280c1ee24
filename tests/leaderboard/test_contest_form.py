"""The contest form (page and Django admin), finalising only when due, the provisional CSV."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import dateformat, timezone

from config.errors import StateConflict
from leaderboard import services
from leaderboard.models import Contest, ScoreEvent, Standing
from tests.when import datetime_local, days_ahead

pytestmark = pytest.mark.django_db


def form_data(**changes) -> dict:
    data = {
        "name": "Holiday drive",
        "starts_at": datetime_local(days_ahead(14, hour=9)),
        "ends_at": datetime_local(days_ahead(18, hour=17)),
        "grace_hours": "24",
        "focus_bonus": "0",
        "winner_count": "3",
    }
    return {**data, **changes}


# --- Grace period --------------------------------------------------------------------------


@override_settings(FLOCK_CONTEST_GRACE_HOURS=72, TIME_ZONE="Europe/Berlin")
def test_a_new_contest_form_proposes_next_week_and_the_grace_period_of_the_setting(
    client, carol, time_machine
):
    time_machine.move_to(datetime.datetime(2031, 3, 5, 12, 0, tzinfo=datetime.UTC))  # a Wednesday
    client.force_login(carol)  # after the move: a session from before it would have expired
    response = client.get("/contests/")
    form = response.context["form"]
    assert form["grace_hours"].value() == 72
    # Next Monday 00:00 in the company's time zone, for a week (the form shows local time).
    assert form["starts_at"].value() == datetime.datetime(2031, 3, 10, 0, 0)
    assert form["ends_at"].value() == datetime.datetime(2031, 3, 17, 0, 0)
    assert 'value="2031-03-10T00:00"' in response.content.decode()
    assert "Review grace period (hours)" in response.content.decode()


def test_an_existing_contest_shows_its_own_grace_period(carol_client, settings):
    settings.FLOCK_CONTEST_GRACE_HOURS = 72
    ends = days_ahead(18, hour=17)
    contest = Contest.objects.create(
        name="Spring",
        starts_at=days_ahead(14, hour=9),
        ends_at=ends,
        grace_ends_at=ends + datetime.timedelta(hours=36, minutes=30),
    )
    form = carol_client.get(f"/contests/{contest.pk}/edit/").context["form"]
    assert form["grace_hours"].value() == Decimal("36.5")


def test_the_grace_period_ends_that_many_hours_after_the_contest(carol_client):
    response = carol_client.post("/contests/", form_data(grace_hours="12"))
    assert response.status_code == 302, response.content.decode()[:2000]
    contest = Contest.objects.get(name="Holiday drive")
    assert contest.grace_ends_at - contest.ends_at == datetime.timedelta(hours=12)
    # Saved again unchanged, its grace period stays exactly as long.
    edit = form_data(grace_hours="12", ends_at=datetime_local(days_ahead(19, hour=17)))
    assert carol_client.post(f"/contests/{contest.pk}/edit/", edit).status_code == 302
    contest.refresh_from_db()
    assert contest.grace_ends_at == days_ahead(19, hour=17) + datetime.timedelta(hours=12)


@pytest.mark.parametrize("hours", ["-1", "abc", "100000"])
def test_an_odd_grace_period_is_refused_beside_its_field(carol_client, hours):
    response = carol_client.post("/contests/", form_data(grace_hours=hours))
    assert response.status_code == 400
    assert "grace_hours" in response.context["form"].errors
    assert 'id="id_grace_hours_error"' in response.content.decode()
    assert not Contest.objects.exists()


# --- Multipliers ---------------------------------------------------------------------------


def test_one_multiplier_field_per_active_category(carol_client):
    from annotation.models import Category

    Category.objects.filter(slug="brainstorming").update(is_active=False)
    form = carol_client.get("/contests/").context["form"]
    names = [field.name for field in form.multiplier_fields]
    active = Category.objects.filter(is_active=True).order_by("position", "slug")
    assert names == [f"multiplier_{c.slug}" for c in active]
    closed = form["multiplier_closed_qa"]
    assert closed.label == "Closed QA"
    assert closed.field.widget.attrs["placeholder"] == "1.5"  # the category's own
    assert closed.field.widget.attrs["step"] == "0.25"
    assert closed.field.max_value == services.MAX_MULTIPLIER


def test_multipliers_given_are_saved_and_blank_ones_left_out(carol_client):
    data = form_data(multiplier_closed_qa="2", multiplier_summarization="1.75")
    assert carol_client.post("/contests/", data).status_code == 302
    contest = Contest.objects.get(name="Holiday drive")
    assert contest.multipliers == {"closed_qa": 2, "summarization": 1.75}
    form = carol_client.get(f"/contests/{contest.pk}/edit/").context["form"]
    assert form["multiplier_closed_qa"].value() == 2
    assert form["multiplier_open_qa"].value() is None


def test_a_multiplier_of_an_inactive_category_is_kept(carol_client, carol):
    from annotation.models import Category

    contest = services.contest_save(
        actor=carol,
        values={
            "name": "Spring",
            "starts_at": days_ahead(14, hour=9),
            "ends_at": days_ahead(18, hour=17),
            "multipliers": {"brainstorming": 3},
        },
    )
    Category.objects.filter(slug="brainstorming").update(is_active=False)
    data = form_data(name="Spring", grace_hours="48", multiplier_open_qa="2")
    assert carol_client.post(f"/contests/{contest.pk}/edit/", data).status_code == 302
    contest.refresh_from_db()
    assert contest.multipliers == {"brainstorming": 3, "open_qa": 2}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "greater than or equal to 0"),
        ("101", f"less than or equal to {services.MAX_MULTIPLIER}"),
        ("two", "Enter a number"),
        ("NaN", "Enter a number"),
    ],
)
def test_an_odd_multiplier_is_refused_beside_its_field(carol_client, value, message):
    response = carol_client.post("/contests/", form_data(multiplier_closed_qa=value))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["multiplier_closed_qa"]
    assert message in errors["multiplier_closed_qa"][0]
    page = response.content.decode()
    beside = page[page.index('id="id_multiplier_closed_qa"') :]
    assert message in beside[: beside.index("</div>")]  # in the field's own block
    assert not Contest.objects.exists()


# --- Finalise when due ---------------------------------------------------------------------


def _contest(now, *, ends_in: datetime.timedelta, grace: datetime.timedelta, name: str):
    ends = now + ends_in
    return Contest.objects.create(
        name=name,
        starts_at=ends - datetime.timedelta(days=5),
        ends_at=ends,
        grace_ends_at=ends + grace,
    )


def test_finalise_is_offered_only_for_contests_that_are_due(carol_client, now):
    hour = datetime.timedelta(hours=1)
    running = _contest(now, ends_in=hour, grace=48 * hour, name="Running")
    in_grace = _contest(now, ends_in=-30 * hour, grace=48 * hour, name="In grace")
    due = _contest(now, ends_in=-100 * hour, grace=48 * hour, name="Due")
    page = carol_client.get("/contests/").content.decode()

    def row(contest) -> str:
        start = page.index(f'data-contest="{contest.pk}"')
        return page[start : page.index("</tr>", start)]

    assert "Finalise" not in row(running) and "Finalise" not in row(in_grace)
    assert "can be finalised from" in row(in_grace)
    assert f'action="/contests/{due.pk}/finalize/"' in row(due)
    assert (running.phase(), in_grace.phase(), due.phase()) == ("running", "grace", "due")


def test_an_admin_cannot_finalise_before_the_grace_period_ends(carol, now, time_machine):
    contest = _contest(
        now, ends_in=-datetime.timedelta(hours=1), grace=datetime.timedelta(hours=2), name="Sprint"
    )
    with pytest.raises(StateConflict) as refused:
        services.contest_finalize(contest=contest, actor=carol)
    when = dateformat.format(timezone.localtime(contest.grace_ends_at), "j M Y, H:i")
    assert "not due to be finalised yet" in refused.value.message
    assert when in refused.value.message  # it says when it will be due
    contest.refresh_from_db()
    assert not contest.is_finalized
    time_machine.move_to(contest.grace_ends_at)
    assert services.contest_finalize(contest=contest, actor=carol).is_finalized


def test_a_finalise_posted_before_it_is_due_is_refused_with_a_message(carol_client, now):
    contest = _contest(
        now, ends_in=-datetime.timedelta(hours=1), grace=datetime.timedelta(hours=2), name="Sprint"
    )
    response = carol_client.post(f"/contests/{contest.pk}/finalize/", follow=True)
    assert response.status_code == 200
    assert "Sprint is not due to be finalised yet" in response.content.decode()
    contest.refresh_from_db()
    assert not contest.is_finalized


def test_the_api_refuses_an_early_finalise_with_a_409(api_client, carol, now):
    contest = _contest(
        now, ends_in=-datetime.timedelta(hours=1), grace=datetime.timedelta(hours=2), name="Sprint"
    )
    api_client.force_authenticate(carol)
    response = api_client.post(f"/api/v1/contests/{contest.pk}/finalize/")
    assert response.status_code == 409 and "not due" in response.json()["detail"]


def test_contributors_get_403_on_every_contest_admin_page(client, bob, now):
    contest = _contest(
        now, ends_in=-datetime.timedelta(days=3), grace=datetime.timedelta(hours=2), name="Past"
    )
    client.force_login(bob)
    assert client.get("/contests/").status_code == 403
    assert client.post("/contests/", form_data()).status_code == 403
    assert client.get(f"/contests/{contest.pk}/edit/").status_code == 403
    assert client.post(f"/contests/{contest.pk}/finalize/").status_code == 403
    assert client.get(f"/contests/{contest.pk}/standings.csv").status_code == 403
    contest.refresh_from_db()
    assert not contest.is_finalized


# --- The standings CSV ---------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_standings_csv_marks_no_winners_until_the_contest_is_final(
    carol_client, alice, bob, dave, now, time_machine
):
    contest = _contest(
        now, ends_in=datetime.timedelta(hours=1), grace=datetime.timedelta(hours=2), name="Sprint"
    )
    contest.winner_count = 2
    contest.save()
    for user, points in ((alice, 15), (dave, 15), (bob, 2)):
        ScoreEvent.objects.create(
            kind="entry_accepted",
            object_key=f"test:{user.pk}",
            user=user,
            points=points,
            contest=contest,
            reason="test",
        )

    provisional = carol_client.get(f"/contests/{contest.pk}/standings.csv")
    disposition = provisional["Content-Disposition"]
    assert f'filename="standings-{contest.pk}-provisional.csv"' in disposition
    rows = _csv(provisional)
    assert rows[0] == ["rank", "name", "points", "accepted", "reviews", "winner", "final"]
    assert [row[:3] for row in rows[1:]] == [
        ["1", "dave", "15"],
        ["1", "alice", "15"],
        ["3", "bob", "2"],
    ]
    assert {(row[5], row[6]) for row in rows[1:]} == {("", "False")}

    time_machine.move_to(contest.grace_ends_at)
    assert services.contests_tick()["finalized"] == [contest.pk]
    final = carol_client.get(f"/contests/{contest.pk}/standings.csv")
    assert f'filename="standings-{contest.pk}.csv"' in final["Content-Disposition"]
    rows = _csv(final)
    assert {row[1]: row[5] for row in rows[1:]} == {"dave": "True", "alice": "True", "bob": "False"}
    assert {row[6] for row in rows[1:]} == {"True"}
    assert Standing.objects.filter(contest=contest, is_winner=True).count() == 2


# --- The Django admin ----------------------------------------------------------------------


@pytest.fixture
def admin_client(client, carol):
    carol.is_superuser = True
    carol.save()
    client.force_login(carol)
    return client


def _admin_form(**changes) -> dict:
    starts, ends = days_ahead(14, hour=9), days_ahead(18, hour=17)
    data = {
        "name": "From the admin",
        "starts_at_0": starts.strftime("%Y-%m-%d"),
        "starts_at_1": starts.strftime("%H:%M:%S"),
        "ends_at_0": ends.strftime("%Y-%m-%d"),
        "ends_at_1": ends.strftime("%H:%M:%S"),
        "grace_hours": "6",
        "focus_bonus": "0",
        "winner_count": "3",
    }
    return {**data, **changes}


@override_settings(FLOCK_CONTEST_GRACE_HOURS=30)
def test_the_django_admin_uses_the_same_form(admin_client):
    page = admin_client.get("/admin/leaderboard/contest/add/")
    assert page.context["adminform"].form["grace_hours"].value() == 30
    assert "Points multiplier per category" in page.content.decode()

    bad = admin_client.post("/admin/leaderboard/contest/add/", _admin_form(multiplier_open_qa="-2"))
    assert "multiplier_open_qa" in bad.context["adminform"].form.errors
    assert not Contest.objects.exists()

    added = admin_client.post(
        "/admin/leaderboard/contest/add/", _admin_form(multiplier_open_qa="2")
    )
    assert added.status_code == 302
    contest = Contest.objects.get()
    assert contest.multipliers == {"open_qa": 2}
    assert contest.grace_ends_at - contest.ends_at == datetime.timedelta(hours=6)


def test_the_django_admin_shows_a_final_contest_read_only_and_finalises_only_due_ones(
    admin_client, carol, now
):
    hour = datetime.timedelta(hours=1)
    due = _contest(now, ends_in=-100 * hour, grace=48 * hour, name="Due")
    early = _contest(now, ends_in=-30 * hour, grace=48 * hour, name="Early")
    response = admin_client.post(
        "/admin/leaderboard/contest/",
        {"action": "finalize", "_selected_action": [due.pk, early.pk]},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Finalised 1 contest(s)." in page and "Early is not due to be finalised yet" in page
    due.refresh_from_db()
    early.refresh_from_db()
    assert due.is_finalized and not early.is_finalized

    view = admin_client.get(f"/admin/leaderboard/contest/{due.pk}/change/")
    assert view.status_code == 200
    assert 'name="grace_hours"' not in view.content.decode()  # nothing to change
    refused = admin_client.post(f"/admin/leaderboard/contest/{due.pk}/change/", _admin_form())
    assert refused.status_code == 403
    due.refresh_from_db()
    assert due.name == "Due"


def test_a_grace_period_ending_past_the_calendar_is_refused_beside_its_field(carol_client):
    late = form_data(starts_at="9999-12-30T09:00", ends_at="9999-12-31T17:00", grace_hours="48")
    response = carol_client.post("/contests/", late)
    assert response.status_code == 400
    assert response.context["form"].errors["grace_hours"] == [
        "The grace period would end after the year 9999."
    ]
    assert not Contest.objects.exists()
