"""Audit findings 7 and 9: bad input answers 4xx, errors under /api/ are JSON, the health check,
and the headers every answer carries (Content-Security-Policy, Permissions-Policy, no-store).

The NUL-character tests matter on PostgreSQL, which refuses NUL in a query (a 500 before the
fix); run them with DATABASE_URL=postgres://… as CI does.
"""

import json
import socket

import pytest
from django.db import connection
from django.test import Client
from django.urls import include, path

from annotation import services
from tests.factories import submitted

NUL = "\x00"
NUL_MESSAGE = "The request contains a NUL character (%00), which Flock does not accept."


def crash(request):
    raise RuntimeError("a bug")


# A URL map for the test of a crash under /api/: Flock's own, plus a view that raises.
urlpatterns = [
    path("api/v1/crash/", crash),
    path("", include("config.urls")),
]
handler400 = "config.views.bad_request"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"


@pytest.fixture
def client():
    """Answers as a browser or script gets them: a crash is a 500 answer, not a test error."""
    return Client(raise_request_exception=False)


# --- Headers --------------------------------------------------------------------------------


def _csp(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy_and_permissions_policy(client, alice):
    client.force_login(alice)
    response = client.get("/write/")

    assert response.status_code == 200
    csp = _csp(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no nonce asked for: no inline script at all
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in value for values in csp.values() for value in values)
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_signed_in_pages_are_never_stored(client, alice):
    client.force_login(alice)
    for url in ["/write/", "/entries/", "/accounts/profile/", "/leaderboard/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url


@pytest.mark.django_db
def test_api_answers_are_never_stored_token_and_me_included(client, alice, password):
    issued = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": password}, "application/json"
    )
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
    anonymous = Client().get("/api/v1/categories/")

    assert issued.status_code == 200
    assert me.status_code == 200
    assert anonymous.status_code == 401
    for response in (issued, me, anonymous):
        assert "no-store" in response["Cache-Control"]
        assert "Content-Security-Policy" in response
        assert "Permissions-Policy" in response


@pytest.mark.django_db
def test_with_debug_on_only_djangos_debug_error_pages_go_without_the_policy(client, settings):
    settings.DEBUG = True

    debug_404 = client.get("/no-such-page/")
    page = client.get("/accounts/sign-in/")

    assert debug_404.status_code == 404
    assert "Content-Security-Policy" not in debug_404  # its inline styles would be refused
    assert "Content-Security-Policy" in page


@pytest.mark.django_db
def test_api_docs_run_under_the_policy_with_a_nonce_and_no_inline_script(client, alice):
    client.force_login(alice)
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    nonce = next(v for v in _csp(response)["style-src"] if v.startswith("'nonce-"))[7:-1]
    assert f'<style nonce="{nonce}">' in page
    assert "<script>" not in page  # Swagger UI's start-up script is a file (?script)
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


# --- Bad input ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_json_nested_100000_deep_is_a_400_on_the_unauthenticated_token_endpoint(client):
    deep = "[" * 100_000 + "]" * 100_000

    response = client.post("/api/v1/auth/token/", deep, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested too deeply."}


@pytest.mark.django_db
def test_json_nested_past_the_limit_is_a_400_on_any_api(seeded, client, alice):
    client.force_login(alice)
    shallow_enough = {"category": "open_qa", "instruction": "x", "extra": [[[["fine"]]]]}
    too_deep = {"category": "open_qa", "instruction": json.loads("[" * 40 + "]" * 40)}

    fine = client.post("/api/v1/entries/", shallow_enough, content_type="application/json")
    refused = client.post("/api/v1/entries/", too_deep, content_type="application/json")

    assert fine.status_code == 201, fine.content
    assert refused.status_code == 400
    assert refused.json() == {"detail": "JSON nested too deeply."}


@pytest.mark.django_db
def test_nul_in_a_json_string_is_a_400(seeded, client, alice):
    client.force_login(alice)
    for body in [{"category": "open" + NUL}, {"category" + NUL: "open_qa"}, {"x": ["a", [NUL]]}]:
        response = client.post("/api/v1/reviews/next/", body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.json() == {
            "detail": "JSON strings may not contain NUL characters (\\u0000)."
        }


@pytest.mark.django_db
def test_nul_in_page_fields_is_a_clear_400(seeded, client, alice, carol, dana, agreed):
    """Each of these fields was read straight from request.POST: a 500 on PostgreSQL before."""
    flag = services.flag_raise_by_hand(
        entry=submitted(alice), moderator=carol, kind="moderator", note="check this"
    )
    posts = [
        (alice, "/entries/autosave/", {"category": "open" + NUL, "instruction": "x"}),
        (alice, "/entries/submit/", {"category": "open_qa", "source_url": "https://x" + NUL}),
        (alice, "/review/next/", {"category": "open" + NUL}),
        (dana, "/exports/", {"request_key": "key" + NUL}),
        (carol, f"/moderation/flags/{flag.pk}/resolve/", {"action": "dismiss", "note": NUL}),
    ]
    for user, url, data in posts:
        client.force_login(user)
        response = client.post(url, data)
        assert response.status_code == 400, url
        assert response["Content-Type"].startswith("text/html")
        assert NUL_MESSAGE in response.content.decode(), url
    flag.refresh_from_db()
    assert flag.status == "open"


@pytest.mark.django_db
@pytest.mark.django_db
def test_a_session_cookie_holding_nul_is_no_session_and_no_500(client):
    """Django unquotes "\\000" in a cookie into a NUL character, which PostgreSQL refuses in the
    session look-up (a DataError, a 500 on every page); such a browser has no session."""
    cookie = {"HTTP_COOKIE": 'sessionid="\\000abcdefgh"'}  # as a browser sends it
    response = client.get("/write/", **cookie)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/")
    assert client.get("/api/v1/me/", **cookie).status_code == 401


def test_nul_in_the_path_or_query_is_a_400_json_under_api(client, alice):
    client.force_login(alice)
    for url in ["/entries/?status=%00", "/write/open%00qa/", "/leaderboard/?scope%00=x"]:
        response = client.get(url)
        assert response.status_code == 400, url
        assert NUL_MESSAGE in response.content.decode()
    for url in [
        "/api/v1/entries/?status=%00",
        "/api/v1/leaderboard/?scope=%00",
        "/api/v1/snapshots/latest/files/data%00.jsonl",
    ]:
        response = client.get(url)
        assert response.status_code == 400, url
        assert response.json() == {"detail": NUL_MESSAGE, "code": "bad_request"}


@pytest.mark.django_db
def test_a_request_django_refuses_before_any_view_is_a_json_400_under_api(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    form = {"username": "alice", "password": "x" * 200}

    api = client.post("/api/v1/auth/token/", form)
    page = client.post("/accounts/sign-in/", form)

    assert api.status_code == 400
    assert api.json() == {"detail": "Bad request.", "code": "bad_request"}
    assert page.status_code == 400
    assert "Flock could not understand this request." in page.content.decode()


# --- Errors under /api/ are JSON ------------------------------------------------------------


@pytest.mark.django_db
def test_api_paths_that_match_no_route_answer_json_404(client, alice):
    client.force_login(alice)
    for url in ["/api/v1/entries/abc/", "/api/v1/flags/1.5/resolve/", "/api/v2/", "/api/"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"detail": "Not found.", "code": "not_found"}, url
    page = client.get("/entries/abc/")
    assert page.status_code == 404
    assert "There is nothing here" in page.content.decode()


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_crash_under_api_answers_json_500(client, alice):
    client.force_login(alice)

    response = client.get("/api/v1/crash/")

    assert response.status_code == 500
    assert response.json() == {"detail": "Server error.", "code": "server_error"}


@pytest.fixture
def database_unreachable(transactional_db):
    """Point Django's connection at a database nobody serves, for real: the next query fails to
    connect (PostgreSQL: a port that refuses connections; SQLite: a file that cannot exist)."""
    database = connection.settings_dict
    saved = dict(database)
    connection.close()
    refusing = socket.socket()  # bound, never listening: connecting to it is refused
    refusing.bind(("127.0.0.1", 0))
    if connection.vendor == "postgresql":
        database.update(HOST="127.0.0.1", PORT=str(refusing.getsockname()[1]))
    else:
        database["NAME"] = "/nonexistent-folder/flock.sqlite3"
    yield
    connection.close()
    database.clear()
    database.update(saved)
    refusing.close()


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_answers_api_clients_a_json_503(client, alice, request):
    client.force_login(alice)
    request.getfixturevalue("database_unreachable")

    response = client.get("/api/v1/me/")

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The database is unavailable. Try again in a moment.",
        "code": "database_unavailable",
    }
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]


# --- The browsable API ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_browsable_api_answers_200_for_a_signed_in_browser(seeded, client, carol, dana, agreed):
    carol.groups.add(*dana.groups.all())
    services.flag_raise_by_hand(
        entry=submitted(agreed), moderator=carol, kind="moderator", note="check this"
    )
    client.force_login(carol)
    lists = [
        "/api/v1/entries/",
        "/api/v1/flags/",
        "/api/v1/snapshots/",
        "/api/v1/categories/",
        "/api/v1/contests/",
        "/api/v1/leaderboard/",
        "/api/v1/me/",
        "/api/v1/me/points/",
    ]
    for url in lists:
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html"), url
        assert "<style>" not in response.content.decode(), url  # none without a nonce


# --- Health ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_answers_200_with_one_query_no_session_and_plain_http(
    client, settings, django_assert_num_queries
):
    settings.REDIS_URL = ""
    settings.SECURE_SSL_REDIRECT = True  # as in production: the probe still is not redirected

    with django_assert_num_queries(1):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert not response.cookies
    assert "no-store" in response["Cache-Control"]
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_health_answers_503_naming_the_database_when_it_is_down(client, settings, request):
    settings.REDIS_URL = ""
    request.getfixturevalue("database_unreachable")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "down"}}


@pytest.mark.django_db
def test_health_checks_redis_when_configured(client, settings):
    configured = settings.REDIS_URL  # REDIS_URL from the environment, if any
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))
        settings.REDIS_URL = f"redis://127.0.0.1:{refusing.getsockname()[1]}/0"
        down = client.get("/healthz")

    assert down.status_code == 503
    assert down.json() == {"status": "unavailable", "checks": {"database": "ok", "redis": "down"}}
    if not configured:
        pytest.skip("a Redis that answers: run with REDIS_URL=redis://… (CI does)")
    settings.REDIS_URL = configured
    up = client.get("/healthz")
    assert up.status_code == 200
    assert up.json()["checks"] == {"database": "ok", "redis": "ok"}
