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
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from annotation import oidc
from annotation.models import Profile, Team
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


def test_usernames_are_made_unique(settings):
    settings.OIDC_ALLOWED_EMAIL_DOMAINS = []
    UserFactory(username="alice", email="alice@elsewhere.example")
    second = oidc_user_sign_in(claims={"sub": "2", "email": "alice@acme.example"})
    third = oidc_user_sign_in(
        claims={"sub": "3", "email": "a3@acme.example", "preferred_username": "Alice"}
    )
    assert (second.username, third.username) == ("alice-2", "Alice-3")


def test_roles_the_provider_does_not_manage_stay_with_the_admin(settings):
    settings.OIDC_STAFF_GROUPS = []
    settings.OIDC_DATA_SCIENTIST_GROUPS = []
    carol = UserFactory(username="carol", email="carol@acme.example", is_staff=True)
    oidc_user_sign_in(claims={"sub": "c", "email": "carol@acme.example", "groups": []})
    carol.refresh_from_db()
    assert carol.is_staff


def test_a_superuser_keeps_staff(settings):
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


def test_no_team_claim_means_no_team(settings):
    settings.OIDC_CLAIM_TEAM = "department"
    user = oidc_user_sign_in(claims={"email": "erin@acme.example", "department": "Legal"})
    assert user.profile.team == Team.objects.get(name="Legal")
    oidc_user_sign_in(claims={"email": "erin@acme.example"})
    assert Profile.objects.get(user=user).team is None


def test_an_address_is_required(settings):
    with pytest.raises(SignInRefused) as refusal:
        oidc_user_sign_in(claims={"sub": "x", "preferred_username": "x"})
    assert refusal.value.reason == "email_missing"
    assert not User.objects.exists()


def test_the_data_scientists_group_is_made_when_needed(settings):
    settings.OIDC_DATA_SCIENTIST_GROUPS = [SCIENTIST_GROUP]
    Group.objects.filter(name="data-scientists").delete()
    user = oidc_user_sign_in(claims={"email": "dana@acme.example", "groups": [SCIENTIST_GROUP]})
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
