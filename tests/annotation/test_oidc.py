"""Company sign-in through a real OpenID Connect provider (tests/oidc_provider.py, its own process).

Alice is in the moderators' and the ML platform's groups at first; later the provider moves her
to another department and out of both. Mallory's address is not a company one. Where the provider
cannot be made to misbehave (a token for another application, a forged signature), the token
endpoint's answer is replaced by a real token issued to someone else, or one signed by another key.
"""

import datetime
import json
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from axes.models import AccessAttempt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.urls import reverse

from annotation import oidc
from annotation.models import Profile, Team
from annotation.services import signup_open
from annotation.services.oidc import SignInRefused, claim_groups, oidc_user_sign_in
from tests.factories import PASSWORD, UserFactory
from tests.oidc_provider import SCIENTIST_GROUP, STAFF_GROUP
from tests.test_settings import _run

User = get_user_model()

pytestmark = pytest.mark.django_db

ALICE = {
    "email": "alice@acme.example",
    "email_verified": True,
    "name": "Alice Adams",
    "preferred_username": "alice",
    "department": "Legal",
    "groups": [STAFF_GROUP, SCIENTIST_GROUP, "everyone"],
}


def start(client, next_url: str | None = None) -> str:
    """Press "Sign in with …": the provider's authorization URL Flock sends the browser to."""
    url = reverse("oidc_authentication_init")
    response = client.get(url, {"next": next_url} if next_url else {})
    assert response.status_code == 302
    assert response["Location"].startswith(oidc.endpoint("authorization_endpoint"))
    return response["Location"]


def sign_in(client, provider, sub: str):
    """The whole round trip: Flock → the provider's sign-in → Flock's callback."""
    return client.get(provider.authorize(start(client), sub))


def scientist(user) -> bool:
    return user.groups.filter(name="data-scientists").exists()


def assert_refused(response, status: int, reason: str, words: str):
    assert response.status_code == status
    assert response.templates[0].name == "accounts/sign_in_refused.html"
    assert response.context["reason"] == reason
    assert words in response.content.decode()
    assert "_auth_user_id" not in response.client.session


def test_first_sign_in_makes_the_account_profile_and_roles(client, oidc_settings, oidc_provider):
    oidc_provider.user("alice-sub-1", **ALICE)

    response = sign_in(client, oidc_provider, "alice-sub-1")

    assert response.status_code == 302
    assert response["Location"] == reverse("annotation:category_list")
    alice = User.objects.get(email="alice@acme.example")
    assert alice.username == "alice"
    assert not alice.has_usable_password()
    assert alice.is_staff and scientist(alice)
    profile = Profile.objects.get(user=alice)
    assert profile.display_name == "Alice Adams"
    assert profile.oidc_identity == f"{oidc_provider.issuer}|alice-sub-1"
    assert profile.team.name == "Legal"
    assert client.get(reverse("annotation:moderation")).status_code == 200

    client.post(reverse("logout"))
    assert client.get(reverse("annotation:moderation")).status_code == 302  # to sign-in


def test_sign_in_returns_to_the_page_asked_for(client, oidc_settings, oidc_provider):
    oidc_provider.user("alice-sub-2", **ALICE)
    back = oidc_provider.authorize(start(client, next_url="/entries/"), "alice-sub-2")
    assert client.get(back)["Location"] == "/entries/"


def test_a_later_sign_in_updates_team_and_roles_and_takes_lost_ones_away(
    client, oidc_settings, oidc_provider
):
    oidc_provider.user("alice-sub-3", **ALICE)
    sign_in(client, oidc_provider, "alice-sub-3")
    client.post(reverse("logout"))

    oidc_provider.user(
        "alice-sub-3", **{**ALICE, "name": "Alice Brown", "department": "Research", "groups": []}
    )
    response = sign_in(client, oidc_provider, "alice-sub-3")

    assert response.status_code == 302
    alice = User.objects.get(email="alice@acme.example")
    assert User.objects.filter(email__iexact="alice@acme.example").count() == 1
    assert not alice.is_staff and not scientist(alice)
    assert alice.profile.display_name == "Alice Brown"
    assert alice.profile.team.name == "Research"
    assert client.get(reverse("annotation:moderation")).status_code == 403


def test_an_account_made_with_a_password_is_the_same_person(client, oidc_settings, oidc_provider):
    existing = UserFactory(username="aadams", email="Alice@ACME.example")
    oidc_provider.user("alice-sub-4", **ALICE)

    sign_in(client, oidc_provider, "alice-sub-4")

    assert User.objects.filter(email__iexact="alice@acme.example").count() == 1
    assert int(client.session["_auth_user_id"]) == existing.pk
    existing.refresh_from_db()
    assert existing.username == "aadams" and existing.is_staff
    assert existing.check_password(PASSWORD)  # company sign-in leaves a password alone


def test_a_deactivated_account_stays_out_unchanged(client, oidc_settings, oidc_provider):
    switched_off = UserFactory(username="alice", email="alice@acme.example", is_active=False)
    oidc_provider.user("alice-sub-5", **ALICE)

    response = sign_in(client, oidc_provider, "alice-sub-5")

    assert_refused(response, 403, "inactive", "switched off by an administrator")
    switched_off.refresh_from_db()
    assert not switched_off.is_active and not switched_off.is_staff and not scientist(switched_off)


def test_an_address_outside_the_company_domains_is_refused(client, oidc_settings, oidc_provider):
    oidc_provider.user("mallory", **{**ALICE, "email": "mallory@gmail.example"})

    response = sign_in(client, oidc_provider, "mallory")

    assert_refused(response, 403, "email_domain", "Accounts with an @gmail.example address")
    assert "@acme.example" in response.content.decode()
    assert not User.objects.exists()


def test_an_unverified_address_is_refused(client, oidc_settings, oidc_provider):
    oidc_provider.user("alice-sub-6", **{**ALICE, "email_verified": False})

    response = sign_in(client, oidc_provider, "alice-sub-6")

    assert_refused(response, 403, "email_unverified", "is not verified")
    assert not User.objects.exists()


def test_a_state_this_browser_did_not_start_is_refused(client, oidc_settings, oidc_provider):
    oidc_provider.user("alice-sub-7", **ALICE)
    back = oidc_provider.authorize(start(client), "alice-sub-7")
    path, _, query = back.partition("?")
    params = parse_qs(query)

    forged = client.get(path, {"code": params["code"][0], "state": "not-the-state-we-sent"})
    assert_refused(forged, 400, "bad_state", "is not one this browser started")

    elsewhere = client.__class__()  # another browser, holding the same answer
    assert_refused(elsewhere.get(back), 400, "bad_state", "Sign in again")

    client.get(back)  # the right browser signs in ...
    client.post(reverse("logout"))
    assert_refused(client.get(back), 400, "bad_state", "used already")  # ... once
    assert User.objects.count() == 1


def test_a_token_issued_to_another_application_is_refused(
    client, oidc_settings, oidc_provider, monkeypatch
):
    """Token substitution: a real ID token from the same provider, even with our nonce, whose
    audience is another application, is not a sign-in to Flock."""
    oidc_provider.user("alice-sub-8", **ALICE)
    authorization_url = start(client)
    nonce = parse_qs(urlsplit(authorization_url).query)["nonce"][0]
    back = oidc_provider.authorize(authorization_url, "alice-sub-8")
    theirs = _token_response(oidc_provider, "alice-sub-8", client_id="another-app", nonce=nonce)
    monkeypatch.setattr(oidc.OIDCBackend, "get_token", lambda self, payload: theirs)

    response = client.get(back)

    assert_refused(response, 400, "wrong_audience", "issued for another application")
    assert not User.objects.exists()


def test_an_expired_token_is_refused(client, oidc_settings, oidc_provider, time_machine):
    oidc_provider.user("alice-sub-9", **ALICE)
    back = oidc_provider.authorize(start(client), "alice-sub-9")  # valid one hour from now

    time_machine.move_to(datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2))
    response = client.get(back)

    assert_refused(response, 400, "expired", "had expired when it reached Flock")
    assert not User.objects.exists()


def test_a_token_signed_with_another_key_is_refused(
    client, oidc_settings, oidc_provider, monkeypatch
):
    oidc_provider.user("alice-sub-10", **ALICE)
    authorization_url = start(client)
    nonce = parse_qs(urlsplit(authorization_url).query)["nonce"][0]
    back = oidc_provider.authorize(authorization_url, "alice-sub-10")
    real = _token_response(oidc_provider, "alice-sub-10", client_id="flock", nonce=nonce)
    claims = jwt.decode(real["id_token"], options={"verify_signature": False})
    kid = jwt.get_unverified_header(real["id_token"])["kid"]
    attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = attacker_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    forged = {**real, "id_token": jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid})}
    monkeypatch.setattr(oidc.OIDCBackend, "get_token", lambda self, payload: forged)

    response = client.get(back)

    assert_refused(response, 400, "bad_signature", "not signed by your company")
    assert not User.objects.exists()


def test_declining_at_the_provider_says_so(client, oidc_settings, oidc_provider):
    response = client.get(oidc_provider.deny(start(client)))
    assert_refused(response, 403, "provider_error", "declined to sign in")
    assert not client.session.get("oidc_states")  # the declined state cannot be used again


def test_a_provider_that_does_not_answer_gives_a_page_not_a_500(client, oidc_settings):
    oidc_settings.OIDC_OP_ISSUER = "http://127.0.0.1:9"  # discard: nothing listens
    page = client.get(reverse("login"))
    assert "Sign in with Acme SSO" in page.content.decode()  # no discovery to draw the page

    response = client.get(reverse("oidc_authentication_init"))

    assert_refused(response, 502, "provider_unreachable", "could not reach")


def test_a_signed_in_session_needs_no_provider(client, oidc_settings, oidc_provider):
    oidc_provider.user("alice-sub-12", **ALICE)
    sign_in(client, oidc_provider, "alice-sub-12")
    oidc_settings.OIDC_OP_ISSUER = "http://127.0.0.1:9"  # the provider is down from now on
    assert client.get(reverse("annotation:moderation")).status_code == 200


def test_the_client_secret_goes_as_the_provider_asks(oidc_settings, oidc_provider):
    backend = oidc.OIDCBackend()
    # The test provider lists no methods: Discovery's default, client_secret_basic.
    assert backend.get_settings("OIDC_TOKEN_USE_BASIC_AUTH") is True
    oidc_settings.OIDC_OP_TOKEN_ENDPOINT = f"{oidc_provider.issuer}/oauth2/token"
    assert backend.get_settings("OIDC_TOKEN_USE_BASIC_AUTH") is False


def test_explicit_endpoints_override_discovery(client, oidc_settings, oidc_provider):
    oidc_settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://sso.acme.example/authorize"
    assert client.get(reverse("oidc_authentication_init"))["Location"].startswith(
        "https://sso.acme.example/authorize?"
    )


def test_the_flow_uses_pkce_and_a_nonce(client, oidc_settings, oidc_provider):
    query = parse_qs(urlsplit(start(client)).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["nonce"] and query["state"]
    assert query["redirect_uri"] == ["http://testserver/accounts/oidc/callback/"]


# --- the sign-in page ----------------------------------------------------------------------


def test_with_nothing_set_password_sign_in_is_as_before(client, alice):
    page = client.get(reverse("login")).content.decode()
    assert 'name="password"' in page and "Sign in with" not in page
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    assert client.get(reverse("oidc_authentication_callback")).status_code == 404
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and int(client.session["_auth_user_id"]) == alice.pk


def test_company_sign_in_comes_first_with_passwords_still_on(client, oidc_settings, alice):
    page = client.get(reverse("login") + "?next=/entries/").content.decode()
    assert page.index("Sign in with Acme SSO") < page.index('name="password"')
    assert f"{reverse('oidc_authentication_init')}?next=/entries/" in page
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def passwords_off(oidc_settings):
    oidc_settings.FLOCK_PASSWORD_SIGN_IN = False
    oidc_settings.FLOCK_SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    oidc_settings.AUTHENTICATION_BACKENDS = [
        b
        for b in oidc_settings.AUTHENTICATION_BACKENDS
        if b != "django.contrib.auth.backends.ModelBackend"
    ]
    return oidc_settings


def test_with_password_sign_in_off_the_form_is_gone_and_a_password_refused(
    client, passwords_off, alice
):
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with Acme SSO" in page
    assert 'name="password"' not in page

    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert response.status_code == 403
    assert "Password sign-in is switched off here" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_with_password_sign_in_off_sign_up_is_closed(client, passwords_off):
    assert client.get(reverse("signup")).status_code == 404


def test_with_password_sign_in_off_company_sign_in_works(client, passwords_off, oidc_provider):
    oidc_provider.user("alice-sub-11", **ALICE)
    assert sign_in(client, oidc_provider, "alice-sub-11").status_code == 302
    assert client.get(reverse("annotation:moderation")).status_code == 200


# --- the rules, without the provider -------------------------------------------------------

ISSUER = "https://sso.acme.example"


@pytest.fixture
def company(settings):
    """Company sign-in's settings for the rules alone (no provider is called)."""
    settings.OIDC_OP_ISSUER = ISSUER
    settings.OIDC_ALLOWED_EMAIL_DOMAINS = ["acme.example"]
    return settings


def test_usernames_are_made_unique_as_sign_up_makes_them(company):
    UserFactory(username="alice", email="alice@elsewhere.example")
    second = oidc_user_sign_in(claims={"sub": "2", "email": "alice@acme.example"})
    third = oidc_user_sign_in(
        claims={"sub": "3", "email": "a3@acme.example", "preferred_username": "Alice"}
    )
    assert (second.username, third.username) == ("alice2", "Alice3")


def test_roles_the_provider_does_not_manage_stay_with_the_admin(company):
    settings = company
    settings.OIDC_STAFF_GROUPS = []
    settings.OIDC_DATA_SCIENTIST_GROUPS = []
    carol = UserFactory(username="carol", email="carol@acme.example", is_staff=True)
    oidc_user_sign_in(claims={"sub": "c", "email": "carol@acme.example", "groups": []})
    carol.refresh_from_db()
    assert carol.is_staff


def test_a_superuser_keeps_staff(company):
    settings = company
    settings.OIDC_STAFF_GROUPS = [STAFF_GROUP]
    root = UserFactory(username="root", email="root@acme.example", is_superuser=True, is_staff=True)
    oidc_user_sign_in(claims={"sub": "r", "email": "root@acme.example"})
    root.refresh_from_db()
    assert root.is_staff


def test_nested_and_namespaced_group_claims(settings):
    settings.OIDC_CLAIM_GROUPS = "realm_access.roles"
    assert claim_groups({"realm_access": {"roles": ["a", "b"]}}) == {"a", "b"}
    settings.OIDC_CLAIM_GROUPS = "https://acme.example/groups"
    assert claim_groups({"https://acme.example/groups": "a"}) == {"a"}
    assert claim_groups({"https://acme.example/groups": 7}) == set()


def test_no_team_claim_means_no_team(company):
    company.OIDC_CLAIM_TEAM = "department"
    user = oidc_user_sign_in(
        claims={"sub": "e", "email": "erin@acme.example", "department": "Legal"}
    )
    assert user.profile.team == Team.objects.get(name="Legal")
    oidc_user_sign_in(claims={"sub": "e", "email": "erin@acme.example"})
    assert Profile.objects.get(user=user).team is None


def test_an_address_is_required(company):
    with pytest.raises(SignInRefused) as refusal:
        oidc_user_sign_in(claims={"sub": "x", "preferred_username": "x"})
    assert refusal.value.reason == "email_missing"
    assert not User.objects.exists()


def test_the_data_scientists_group_is_made_when_needed(company):
    company.OIDC_DATA_SCIENTIST_GROUPS = [SCIENTIST_GROUP]
    Group.objects.filter(name="data-scientists").delete()
    user = oidc_user_sign_in(
        claims={"sub": "d", "email": "dana@acme.example", "groups": [SCIENTIST_GROUP]}
    )
    assert scientist(user)


def _token_response(provider, sub: str, *, client_id: str, nonce: str) -> dict:
    """What the provider's token endpoint gives `client_id` for `sub` (driven by hand)."""
    redirect_uri = "https://app.acme.example/callback"
    authorize = requests.post(
        f"{provider.issuer}/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": "theirs",
            "nonce": nonce,
        },
        data={"sub": sub},
        allow_redirects=False,
        timeout=5,
    )
    code = parse_qs(urlsplit(authorize.headers["Location"]).query)["code"][0]
    token = requests.post(
        f"{provider.issuer}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": "their-secret",
        },
        timeout=5,
    )
    assert token.status_code == 200, token.text
    return token.json()


# --- the settings, read from the environment in a fresh process -------------------------------

PRINT_BACKENDS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps(settings.AUTHENTICATION_BACKENDS))
"""
COMPANY = {
    "OIDC_OP_ISSUER": "https://sso.acme.example",
    "OIDC_RP_CLIENT_ID": "flock",
    "OIDC_RP_CLIENT_SECRET": "s3cret",
    "OIDC_ALLOWED_EMAIL_DOMAINS": "acme.example",
}


def _backends(**env) -> list[str]:
    result = _run(PRINT_BACKENDS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_environment_turns_company_sign_in_on_and_passwords_off():
    password = "django.contrib.auth.backends.ModelBackend"
    company = "annotation.oidc.OIDCBackend"
    nothing_set = _backends()
    assert password in nothing_set and company not in nothing_set
    off = _backends(**COMPANY, FLOCK_PASSWORD_SIGN_IN="false")
    assert company in off and password not in off


def test_company_sign_in_settings_that_cannot_work_stop_the_start():
    no_secret = _run(PRINT_BACKENDS, **{**COMPANY, "OIDC_RP_CLIENT_SECRET": ""})
    assert "OIDC_RP_CLIENT_SECRET must be set" in no_secret.stderr
    nobody = _run(PRINT_BACKENDS, FLOCK_PASSWORD_SIGN_IN="false")
    assert "FLOCK_PASSWORD_SIGN_IN=false needs company sign-in" in nobody.stderr
    plain = _run(
        PRINT_BACKENDS,
        **{**COMPANY, "OIDC_OP_ISSUER": "http://sso.acme.example"},
        DEBUG="false",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="flock.acme.example",
    )
    assert "OIDC_OP_ISSUER must be an https:// URL" in plain.stderr
    anyone = _run(PRINT_BACKENDS, **{**COMPANY, "OIDC_ALLOWED_EMAIL_DOMAINS": ""})
    assert anyone.returncode != 0
    assert "OIDC_ALLOWED_EMAIL_DOMAINS must be set with OIDC_OP_ISSUER" in anyone.stderr


# --- a password sign-in is never a company sign-in -------------------------------------------


@pytest.fixture
def token_exchanges(monkeypatch):
    """Every code Flock sends the provider's token endpoint (the real exchange still happens)."""
    sent = []
    real = oidc.OIDCBackend.get_token

    def spy(self, payload):
        sent.append(payload)
        return real(self, payload)

    monkeypatch.setattr(oidc.OIDCBackend, "get_token", spy)
    return sent


@pytest.mark.parametrize(
    ("path", "failed"),
    [("/accounts/sign-in/", 200), ("/admin/login/", 200), ("/api/v1/auth/token/", 400)],
)
def test_a_wrong_password_with_a_code_in_the_query_is_counted_and_never_sent_to_the_provider(
    client, oidc_settings, oidc_provider, alice, token_exchanges, path, failed
):
    """`?code=x&state=y` on a password sign-in must not make it a company sign-in: that skipped
    the state and nonce checks, answered 500 (or an uncounted 400) and escaped the lockout."""
    oidc_settings.AXES_FAILURE_LIMIT = 5
    url = f"{path}?code=made-up&state=made-up"
    wrong = {"username": "alice", "password": "wrong-password"}

    def attempt():
        if path.startswith("/api/"):
            return client.post(url, wrong, content_type="application/json")
        return client.post(url, wrong)

    for _ in range(4):
        assert attempt().status_code == failed
    assert AccessAttempt.objects.get(username="alice").failures_since_start == 4
    assert attempt().status_code == 429
    assert token_exchanges == []
    assert "_auth_user_id" not in client.session


def test_only_the_callback_exchanges_a_code(rf, oidc_settings, oidc_provider, token_exchanges):
    elsewhere = rf.get("/entries/?code=made-up&state=made-up")
    elsewhere.session = {}
    assert oidc.OIDCBackend().authenticate(elsewhere, nonce="n", code_verifier="v") is None
    assert token_exchanges == []


# --- sign-up, identities and sessions ----------------------------------------------------------


def test_with_company_sign_in_on_self_service_sign_up_is_closed(client, oidc_settings):
    """Otherwise anyone could sign up with a colleague's address first, and the inactive,
    never-confirmed account would keep the colleague out of company sign-in."""
    oidc_settings.FLOCK_SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    assert oidc_settings.FLOCK_PASSWORD_SIGN_IN
    assert not signup_open()
    assert "Sign up with your company e-mail" not in client.get(reverse("login")).content.decode()
    closed = client.get(reverse("signup"))
    assert closed.status_code == 404
    assert closed.templates[0].name == "accounts/sign_up_closed.html"
    assert reverse("oidc_authentication_init") in closed.content.decode()
    posted = client.post(
        reverse("signup"),
        {"username": "eve", "email": "alice@acme.example", "password": "a long passphrase 42"},
    )
    assert posted.status_code == 404
    assert not User.objects.exists()


def test_a_deactivated_account_loses_its_company_sign_in_session(
    client, oidc_settings, oidc_provider
):
    oidc_provider.user("alice-sub-13", **ALICE)
    sign_in(client, oidc_provider, "alice-sub-13")
    assert client.session["_auth_user_backend"] == "annotation.oidc.OIDCBackend"
    assert client.get(reverse("annotation:moderation")).status_code == 200

    User.objects.filter(email="alice@acme.example").update(is_active=False)

    assert client.get(reverse("annotation:moderation")).status_code == 302  # to sign-in
    assert client.get(reverse("profile")).status_code == 302


def test_a_returning_person_is_found_by_identity_and_the_address_follows_the_provider(
    client, oidc_settings, oidc_provider
):
    oidc_provider.user("alice-sub-14", **ALICE)
    sign_in(client, oidc_provider, "alice-sub-14")
    client.post(reverse("logout"))
    alice = User.objects.get(email="alice@acme.example")

    oidc_provider.user("alice-sub-14", **{**ALICE, "email": "alice.brown@acme.example"})
    sign_in(client, oidc_provider, "alice-sub-14")

    assert int(client.session["_auth_user_id"]) == alice.pk
    alice.refresh_from_db()
    assert alice.email == "alice.brown@acme.example"
    assert User.objects.count() == 1


def test_a_reassigned_address_does_not_inherit_the_old_account(
    client, oidc_settings, oidc_provider
):
    oidc_provider.user("alice-sub-15", **ALICE)
    sign_in(client, oidc_provider, "alice-sub-15")
    client.post(reverse("logout"))
    # Alice left; the company gives her address to a newcomer with another subject.
    oidc_provider.user("newcomer-sub", **{**ALICE, "name": "Alice Newcomer"})

    response = sign_in(client, oidc_provider, "newcomer-sub")

    assert_refused(
        response,
        403,
        "identity_conflict",
        "belongs to another company account in Flock",
    )
    old = User.objects.get(email="alice@acme.example")
    assert old.profile.oidc_identity == f"{oidc_provider.issuer}|alice-sub-15"
    assert old.profile.display_name == "Alice Adams"


def test_the_address_stays_when_another_account_has_it(company):
    first = oidc_user_sign_in(claims={"sub": "s1", "email": "erin@acme.example"})
    UserFactory(username="frank", email="frank@acme.example")

    again = oidc_user_sign_in(claims={"sub": "s1", "email": "frank@acme.example"})

    assert again.pk == first.pk
    again.refresh_from_db()
    assert again.email == "erin@acme.example"


@pytest.mark.parametrize(
    ("verified", "linked"),
    [("absent", True), (True, True), ("true", True), (None, False), ("yes", False)],
)
def test_an_existing_account_is_linked_by_address_only_if_it_is_verified(company, verified, linked):
    """Providers that never send email_verified are trusted as before; one that sends it must
    say true before an account made with a password becomes the company account's."""
    existing = UserFactory(username="gina", email="gina@acme.example")
    claims = {"sub": "g", "email": "gina@acme.example"}
    if verified != "absent":
        claims["email_verified"] = verified
    if linked:
        assert oidc_user_sign_in(claims=claims).pk == existing.pk
        assert Profile.objects.get(user=existing).oidc_identity == f"{ISSUER}|g"
    else:
        with pytest.raises(SignInRefused) as refusal:
            oidc_user_sign_in(claims=claims)
        assert refusal.value.reason == "email_unverified"
        assert not Profile.objects.filter(user=existing).exclude(oidc_identity="").exists()


def test_a_subject_is_required(company):
    with pytest.raises(SignInRefused) as refusal:
        oidc_user_sign_in(claims={"email": "hana@acme.example"})
    assert refusal.value.reason == "incomplete_token"
    assert not User.objects.exists()


def test_one_identity_belongs_to_one_profile():
    one, two, three = UserFactory.create_batch(3)
    Profile.objects.create(user=one, oidc_identity=f"{ISSUER}|x")
    Profile.objects.create(user=two)
    Profile.objects.create(user=three)  # many profiles without an identity
    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.filter(user=two).update(oidc_identity=f"{ISSUER}|x")


# --- refused company sign-ins count for their address ----------------------------------------


def test_refused_company_sign_ins_end_in_the_lockout_for_that_address(
    client, oidc_settings, oidc_provider
):
    """The provider signs its tokens with the real clock, so the clock is not set here; the
    counts do not depend on the date."""
    oidc_settings.AXES_FAILURE_LIMIT = 5
    oidc_settings.FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT = 3
    oidc_provider.user("mallory", **{**ALICE, "email": "mallory@gmail.example"})
    oidc_provider.user("ann-sub", **{**ALICE, "email": "ann@acme.example"})

    for _ in range(2):
        assert_refused(sign_in(client, oidc_provider, "mallory"), 403, "email_domain", "@gmail")
    assert AccessAttempt.objects.get(username=None).failures_since_start == 2
    locked = sign_in(client, oidc_provider, "mallory")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()

    # Locked out: even a company account that would be let in gets the lockout answer.
    answer = sign_in(client, oidc_provider, "ann-sub")
    assert answer.status_code == 429 and answer["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session
    assert not User.objects.exists()


def test_an_address_locked_out_by_passwords_gets_the_lockout_answer_at_the_callback(
    client, oidc_settings, oidc_provider, token_exchanges
):
    oidc_settings.FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT = 3
    for n in range(3):
        client.post(reverse("login"), {"username": f"guess{n}", "password": "x"})
    oidc_provider.user("alice-sub-16", **ALICE)

    answer = sign_in(client, oidc_provider, "alice-sub-16")

    assert answer.status_code == 429
    assert token_exchanges == []
    assert not User.objects.exists()


def test_the_provider_being_down_is_not_counted_against_the_address(client, oidc_settings):
    """Flock's or the provider's trouble (a 502 page) is nobody's failed sign-in."""
    oidc_settings.OIDC_OP_ISSUER = "http://127.0.0.1:9"
    session = client.session
    session["oidc_states"] = {"s": {"nonce": "n", "code_verifier": "v"}}
    session.save()
    response = client.get(reverse("oidc_authentication_callback"), {"code": "c", "state": "s"})
    assert_refused(response, 502, "provider_unreachable", "could not reach")
    assert not AccessAttempt.objects.exists()
