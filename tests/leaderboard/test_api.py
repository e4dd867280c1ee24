import datetime

import pytest
from django.utils import timezone

from leaderboard import services
from leaderboard.models import Contest
from tests.factories import submitted
from tests.when import days_ahead

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(api_client):
    def login(user):
        api_client.force_authenticate(user)
        return api_client

    return login


def test_anonymous_callers_get_401(api_client):
    for url in [
        "/api/v1/contests/",
        "/api/v1/contests/current/",
        "/api/v1/leaderboard/",
        "/api/v1/me/points/",
    ]:
        assert api_client.get(url).status_code == 401, url


def test_current_contest_is_made_on_first_use(as_user, alice):
    response = as_user(alice).get("/api/v1/contests/current/")
    assert response.status_code == 200
    body = response.json()
    assert body["phase"] == "running" and body["finalized_at"] is None
    assert Contest.objects.get().pk == body["id"]
    assert as_user(alice).get("/api/v1/contests/current/").json()["id"] == body["id"]


def test_contest_leaderboard_and_points(as_user, alice, bob, carol, accept):
    accept(submitted(alice, submitted_at=timezone.now()), bob, carol)
    services.boards_rebuild()  # on_commit never fires inside a test's transaction
    contest = services.contest_for_moment(timezone.now())
    board = as_user(bob).get(f"/api/v1/contests/{contest.pk}/leaderboard/").json()
    assert board["scope"] == "contest" and board["contest"] == contest.pk and not board["frozen"]
    assert [(r["rank"], r["user"], r["points"], r["accepted"]) for r in board["rows"]] == [
        (1, "alice", 15, 1),
        (2, "carol", 2, 0),  # a tie: the later account first, on every board
        (2, "bob", 2, 0),
    ]
    assert [r["is_you"] for r in board["rows"]] == [False, False, True]
    assert board["rows"][2]["reviews"] == 1

    points = as_user(alice).get("/api/v1/me/points/").json()
    assert points["total"] == 15
    (event,) = points["results"]
    assert set(event) >= {"kind", "points", "entry", "contest", "created_at"}
    assert (event["kind"], event["contest"]) == ("entry_accepted", contest.pk)


def test_all_time_and_team_scopes(as_user, alice, bob, carol, accept):
    from annotation.services import profile_update
    from tests.factories import TeamFactory

    profile_update(
        user=alice, display_name="Al", team=TeamFactory(name="Eng"), show_on_leaderboard=True
    )
    accept(submitted(alice), bob, carol)
    services.boards_rebuild()
    client = as_user(carol)
    all_time = client.get("/api/v1/leaderboard/?scope=all-time").json()
    assert all_time["rows"][0]["user"] == "Al"
    team = client.get("/api/v1/leaderboard/?scope=team").json()
    assert [(r["user"], r["points"]) for r in team["rows"]] == [("Eng", 15)]
    assert client.get("/api/v1/leaderboard/?scope=galaxy").status_code == 400


def test_only_admins_write_contests(as_user, bob, carol):
    starts, ends = days_ahead(30, hour=9), days_ahead(34, hour=17)  # UTC, the tests' time zone
    body = {
        "name": "Spring drive",
        "starts_at": starts.isoformat().replace("+00:00", "Z"),
        "ends_at": ends.isoformat().replace("+00:00", "Z"),
        "focus_categories": ["summarization"],
        "multipliers": {"summarization": 2},
    }
    assert as_user(bob).post("/api/v1/contests/", body, format="json").status_code == 403
    assert not Contest.objects.exists()

    created = as_user(carol).post("/api/v1/contests/", body, format="json")
    assert created.status_code == 201, created.json()
    contest_id = created.json()["id"]
    assert created.json()["focus_categories"] == ["summarization"]
    grace = ends + datetime.timedelta(hours=48)
    assert created.json()["grace_ends_at"] == grace.isoformat().replace("+00:00", "Z")

    overlap = as_user(carol).post("/api/v1/contests/", {**body, "name": "Clash"}, format="json")
    assert overlap.status_code == 400 and "starts_at" in overlap.json()

    patch = {"prize": "A day off"}
    assert (
        as_user(bob).patch(f"/api/v1/contests/{contest_id}/", patch, format="json").status_code
        == 403
    )
    patched = as_user(carol).patch(f"/api/v1/contests/{contest_id}/", patch, format="json")
    assert patched.json()["prize"] == "A day off"

    assert as_user(bob).post(f"/api/v1/contests/{contest_id}/finalize/").status_code == 403
    early = as_user(carol).post(f"/api/v1/contests/{contest_id}/finalize/")
    assert early.status_code == 409 and "not due" in early.json()["detail"]
    past = services.contest_ensure_week(moment=timezone.now() - datetime.timedelta(days=14))
    final = as_user(carol).post(f"/api/v1/contests/{past.pk}/finalize/").json()
    assert final["phase"] == "final"
    again = as_user(carol).patch(f"/api/v1/contests/{past.pk}/", patch, format="json")
    assert again.status_code == 409


def test_schema_documents_the_leaderboard_api(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in [
        "/api/v1/contests/",
        "/api/v1/contests/current/",
        "/api/v1/contests/{contest_id}/",
        "/api/v1/contests/{contest_id}/leaderboard/",
        "/api/v1/leaderboard/",
        "/api/v1/me/points/",
    ]:
        assert "get" in paths[path], path
    assert "post" in paths["/api/v1/contests/"]


def test_leaderboard_pages_render(client, alice, bob, carol, accept):
    accept(submitted(alice, submitted_at=timezone.now()), bob, carol)
    services.boards_rebuild()
    client.force_login(alice)
    live = client.get("/leaderboard/").content.decode()
    assert 'class="viewer"' in live and "Points over the week" in live and "<polyline" in live
    assert "Accepted entries by category" in live
    assert (
        f'data-member="{alice.pk}"' in client.get("/leaderboard/?scope=all-time").content.decode()
    )
    assert client.get("/leaderboard/?scope=team").status_code == 200
    contest = Contest.objects.get()
    assert client.get(f"/leaderboard/contests/{contest.pk}/").status_code == 200
    assert client.get("/leaderboard/contests/9999/").status_code == 404
