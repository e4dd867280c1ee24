"""Failed sign-ins are slowed per username and per address (django-axes, annotation/throttle.py):
the sign-in form, the admin's login and the token endpoint, with no user enumeration."""

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.test import Client
from rest_framework.test import APIClient

from annotation.throttle import client_ip

pytestmark = pytest.mark.django_db

SIGN_IN = "/accounts/sign-in/"
ADMIN = "/admin/login/"
TOKEN = "/api/v1/auth/token/"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _limits(settings, time_machine):
    """The defaults, stated here so that the numbers below read plainly; the clock is set."""
    settings.AXES_FAILURE_LIMIT = 5
    settings.FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT = 30
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    time_machine.move_to(START, tick=False)


def _from(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def _sign_in(client, username, password="wrong-password"):
    return client.post(SIGN_IN, {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_username_with_a_page_that_says_how_long(
    client, alice, password
):
    for _ in range(4):
        answer = _sign_in(client, "alice")
        assert answer.status_code == 200
        assert b"correct username and password" in answer.content
    locked = _sign_in(client, "alice")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-ins" in page and "Wait 15 minutes" in page
    assert locked["Retry-After"] == "900"
    # Even the right password is refused now, and nobody is signed in.
    assert _sign_in(client, "alice", password).status_code == 429
    assert client.get("/write/").status_code == 302


def test_an_unknown_username_gets_the_same_answers_and_the_same_lockout(alice):
    def answers(username):
        client = _from("10.0.0.1" if username == "alice" else "10.0.0.2")
        seen = []
        for _ in range(6):
            answer = _sign_in(client, username)
            text = re.sub(r"[A-Za-z0-9]{64}", "CSRF", answer.content.decode())
            text = text.replace(username, "NAME")
            seen.append((answer.status_code, text, answer.get("Retry-After")))
        return seen

    assert answers("alice") == answers("nobody-here")


def test_the_username_is_locked_whatever_address_the_attempts_come_from(alice, bob, password):
    for n in range(5):
        _sign_in(_from(f"192.0.2.{n + 1}"), "alice")
    fresh = _from("198.51.100.7")
    assert _sign_in(fresh, "alice", password).status_code == 429
    # The address itself is not locked: bob signs in from it.
    assert _sign_in(fresh, "bob", password).status_code == 302


def test_the_address_is_locked_whatever_usernames_it_tries(settings, alice, password):
    settings.FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT = 8
    attacker = _from("203.0.113.9")
    for n in range(7):
        assert _sign_in(attacker, f"guess{n}").status_code == 200  # 4 per username at most
    assert _sign_in(attacker, "guess-last").status_code == 429
    assert _sign_in(attacker, "alice", password).status_code == 429
    # Alice herself, from her own address, is not affected.
    assert _sign_in(_from("198.51.100.20"), "alice", password).status_code == 302


def test_rotating_x_forwarded_for_does_not_escape_the_address_lockout(settings, alice):
    settings.TRUSTED_PROXY_COUNT = 0  # no proxy: the header is the client's own writing
    settings.FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT = 5
    attacker = _from("203.0.113.9")
    answers = [
        attacker.post(
            SIGN_IN,
            {"username": f"guess{n}", "password": "x"},
            HTTP_X_FORWARDED_FOR=f"10.1.1.{n}",
        ).status_code
        for n in range(5)
    ]
    assert answers == [200, 200, 200, 200, 429]


def test_the_lockout_ends_after_the_cool_off(client, alice, password, time_machine):
    for _ in range(5):
        _sign_in(client, "alice")
    time_machine.move_to(START + dt.timedelta(minutes=10), tick=False)
    assert _sign_in(client, "alice", password).status_code == 429  # starts the wait over
    time_machine.move_to(START + dt.timedelta(minutes=24), tick=False)
    assert _sign_in(client, "alice", password).status_code == 429
    time_machine.move_to(START + dt.timedelta(minutes=40), tick=False)
    assert _sign_in(client, "alice", password).status_code == 302


def test_a_success_forgets_that_usernames_failures_from_that_address(client, alice, password):
    for _ in range(4):
        _sign_in(client, "alice")
    assert _sign_in(client, "alice", password).status_code == 302
    client.post("/accounts/sign-out/")
    for _ in range(4):
        assert _sign_in(client, "alice").status_code == 200
    assert not AccessAttempt.objects.filter(failures_since_start__gt=4).exists()


def test_signing_in_to_ones_own_account_does_not_forgive_guesses_at_another(alice, bob, password):
    mallory = _from("203.0.113.50")
    for _ in range(4):
        _sign_in(mallory, "alice")
    assert _sign_in(mallory, "bob", password).status_code == 302  # Mallory owns "bob"
    mallory.post("/accounts/sign-out/")
    assert _sign_in(mallory, "alice").status_code == 429


def test_the_admin_login_is_locked_out_too(client, carol, password):
    for _ in range(4):
        assert client.post(ADMIN, {"username": "carol", "password": "x"}).status_code == 200
    locked = client.post(ADMIN, {"username": "carol", "password": "x"})
    assert locked.status_code == 429 and b"Wait 15 minutes" in locked.content
    assert client.post(ADMIN, {"username": "carol", "password": password}).status_code == 429


@pytest.mark.parametrize("username", ["alice", "nobody-here"])
def test_the_token_endpoint_answers_a_lockout_with_a_429_json_message(alice, password, username):
    api = APIClient()
    for _ in range(4):
        answer = api.post(TOKEN, {"username": username, "password": "x"}, format="json")
        assert answer.status_code == 400
    locked = api.post(TOKEN, {"username": username, "password": "x"}, format="json")
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert locked["Retry-After"] == "900"
    body = locked.json()
    assert body["code"] == "locked_out" and body["retry_after"] == 900
    assert "Wait 15 minutes" in body["detail"]
    if username == "alice":
        right = api.post(TOKEN, {"username": "alice", "password": password}, format="json")
        assert right.status_code == 429


def test_failures_on_the_page_and_the_api_add_up(alice, password):
    client, api = Client(), APIClient()
    for _ in range(3):
        _sign_in(client, "alice")
    for _ in range(2):
        api.post(TOKEN, {"username": "alice", "password": "x"}, format="json")
    assert _sign_in(client, "alice", password).status_code == 429


def test_client_address_ignores_x_forwarded_for_without_a_trusted_proxy(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_ip(request) == "192.0.2.1"


def test_client_address_behind_trusted_proxies(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client wrote "6.6.6.6" itself; the proxy appended the address it saw.
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1")
    assert client_ip(request) == "198.51.100.1"
    settings.TRUSTED_PROXY_COUNT = 2
    request = rf.get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1, 10.0.0.9"
    )
    assert client_ip(request) == "198.51.100.1"
    # Missing or garbled: the proxy's own address, never the client's text.
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.5")) == "10.0.0.5"
    garbled = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, <script>")
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(garbled) == "10.0.0.5"


def test_behind_a_proxy_each_client_is_counted_by_its_own_address(settings, alice, password):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT = 5
    proxy = _from("10.0.0.5")
    for n in range(5):
        proxy.post(
            SIGN_IN,
            {"username": f"guess{n}", "password": "x"},
            HTTP_X_FORWARDED_FOR="198.51.100.66",
        )
    attacker_again = proxy.post(
        SIGN_IN, {"username": "other", "password": "x"}, HTTP_X_FORWARDED_FOR="198.51.100.66"
    )
    assert attacker_again.status_code == 429
    colleague = proxy.post(
        SIGN_IN, {"username": "alice", "password": password}, HTTP_X_FORWARDED_FOR="192.0.2.80"
    )
    assert colleague.status_code == 302


def test_attempts_without_a_username_count_for_their_address_only(rf, client, alice, password):
    """A company sign-in's callback authenticates without a username: its failures from many
    addresses must not add up under one empty username and lock every such sign-in."""
    for n in range(6):
        callback = rf.get("/oidc/callback/", REMOTE_ADDR=f"192.0.2.{n + 1}")
        assert authenticate(request=callback, nonce="expired") is None
    fresh = rf.get("/oidc/callback/", REMOTE_ADDR="198.51.100.3")
    authenticate(request=fresh, nonce="expired")
    assert not fresh.axes_locked_out
    assert _sign_in(client, "alice", password).status_code == 302
