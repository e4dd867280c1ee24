"""API tokens people can manage: named, hashed, expiring, revocable by their owner and by staff,
and revoked when the password changes or the account is deactivated (issue 12, audit finding 3).

Alice scripts downloads with tokens; Bob is another contributor; Carol is staff; Root runs the
Django admin.
"""

import datetime
import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.signals import user_login_failed
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from annotation import services
from annotation.models import ApiToken
from config.errors import ActionForbidden
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
T0 = datetime.datetime(2031, 3, 4, 9, 0, tzinfo=datetime.UTC)


def api_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def sign_in(client, username: str, password: str) -> None:
    """A real session, through the sign-in page."""
    response = client.post("/accounts/sign-in/", {"username": username, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]


def me(key: str):
    return api_with(key).get("/api/v1/me/")


class OneRoundPBKDF2(PBKDF2PasswordHasher):
    """A preferred hasher other than the one that stored the password: Django rehashes at
    sign-in (a hash upgrade), as it does after an upgrade raises the iteration count."""

    iterations = 1


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


# --- Stored hashed, shown once -------------------------------------------------------------


def test_a_token_is_stored_as_a_digest_never_as_its_key(alice):
    token, key = services.api_token_create(user=alice, name="nightly download")

    assert key.startswith("flk_") and len(key) > 40
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:12]
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not any(key in str(value) for value in row.values())
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM annotation_apitoken")
        assert key not in repr(cursor.fetchall())
    assert me(key).json()["username"] == "alice"


def test_the_profile_shows_a_new_key_once_then_only_its_name_and_prefix(client, alice):
    client.force_login(alice)
    made = client.post(
        "/accounts/profile/tokens/", {"name": "weekly stats", "expires_in_days": "30"}
    )

    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    token = ApiToken.objects.get(user=alice)
    page = made.content.decode()
    start = page.index('id="new-token-key" value="') + len('id="new-token-key" value="')
    key = page[start : page.index('"', start)]
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert "cannot show it again" in page

    later = client.get("/accounts/profile/").content.decode()
    assert key not in later
    assert "weekly stats" in later and token.prefix in later
    assert me(key).status_code == 200


def test_the_profile_refuses_a_token_without_a_name(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/profile/tokens/", {"name": "  ", "expires_in_days": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()
    assert client.get("/accounts/profile/tokens/").status_code == 405


def test_expiry_and_names_are_checked_by_the_service(alice):
    with pytest.raises(Exception) as refused:
        services.api_token_create(user=alice, name="x", expires_in_days=0)
    assert "expires_in_days" in refused.value.message_dict
    with pytest.raises(Exception) as refused:
        services.api_token_create(user=alice, name="x" * 101)
    assert "name" in refused.value.message_dict


# --- Last used, expiry, refusals -----------------------------------------------------------


def test_last_used_is_written_at_most_about_once_a_minute(alice, time_machine):
    time_machine.move_to(T0, tick=False)
    token, key = services.api_token_create(user=alice, name="poller")
    assert token.last_used_at is None

    assert me(key).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == T0

    time_machine.move_to(T0 + datetime.timedelta(seconds=30), tick=False)
    assert me(key).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == T0

    time_machine.move_to(T0 + datetime.timedelta(seconds=61), tick=False)
    assert me(key).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == T0 + datetime.timedelta(seconds=61)


def test_an_expired_token_is_refused_with_a_clear_401(alice, time_machine):
    time_machine.move_to(T0, tick=False)
    token, key = services.api_token_create(user=alice, name="one week", expires_in_days=7)
    assert token.expires_at == T0 + datetime.timedelta(days=7)

    time_machine.move_to(token.expires_at - datetime.timedelta(seconds=1), tick=False)
    assert me(key).status_code == 200
    time_machine.move_to(token.expires_at, tick=False)
    refused = me(key)
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]
    assert refused["WWW-Authenticate"] == "Token"


def test_unknown_and_malformed_keys_are_refused_with_401(alice):
    services.api_token_create(user=alice, name="real")
    for key in ["flk_nope", "x" * 5000, "ünïcode"]:
        response = me(key)
        assert response.status_code == 401, key
        assert response.json()["detail"].startswith("Invalid token"), key


def test_a_deactivated_users_token_is_refused_even_if_not_revoked(alice):
    _, key = services.api_token_create(user=alice, name="script")
    User.objects.filter(pk=alice.pk).update(is_active=False)  # no signals: tokens remain
    assert ApiToken.objects.filter(user=alice).exists()
    response = me(key)
    assert response.status_code == 401
    assert response.json()["detail"] == "This account is deactivated."


# --- Revoking ------------------------------------------------------------------------------


def test_the_owner_revokes_a_token_on_the_profile(client, alice):
    keep, keep_key = services.api_token_create(user=alice, name="keep")
    drop, drop_key = services.api_token_create(user=alice, name="drop")
    client.force_login(alice)

    page = client.get("/accounts/profile/").content.decode()
    assert f"/accounts/profile/tokens/{drop.pk}/revoke/" in page
    response = client.post(f"/accounts/profile/tokens/{drop.pk}/revoke/")

    assert response.status_code == 302
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["keep"]
    assert me(drop_key).status_code == 401
    assert me(keep_key).status_code == 200
    assert client.get(f"/accounts/profile/tokens/{keep.pk}/revoke/").status_code == 405


def test_someone_else_cannot_revoke_a_token(client, alice, bob):
    token, key = services.api_token_create(user=alice, name="alice's")
    client.force_login(bob)
    assert client.post(f"/accounts/profile/tokens/{token.pk}/revoke/").status_code == 404

    _, bob_key = services.api_token_create(user=bob, name="bob's")
    assert api_with(bob_key).delete(f"/api/v1/me/tokens/{token.pk}/").status_code == 404
    with pytest.raises(ActionForbidden):
        services.api_token_revoke(token=token, by=bob)
    assert me(key).status_code == 200


def test_staff_revoke_anyones_token(alice, carol):
    token, key = services.api_token_create(user=alice, name="alice's")
    services.api_token_revoke(token=token, by=carol)
    assert me(key).status_code == 401


def test_the_admin_lists_tokens_without_digests_and_revokes_them(client, alice, root):
    token, key = services.api_token_create(user=alice, name="leaked one")
    client.force_login(root)

    listing = client.get("/admin/annotation/apitoken/").content.decode()
    detail = client.get(f"/admin/annotation/apitoken/{token.pk}/change/").content.decode()
    for page in (listing, detail):
        assert "leaked one" in page and token.prefix in page
        assert token.digest not in page and key not in page
    assert client.get("/admin/annotation/apitoken/add/").status_code == 403
    assert client.get("/admin/authtoken/").status_code == 404

    response = client.post(
        "/admin/annotation/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    assert me(key).status_code == 401


def test_a_script_signs_itself_out_with_delete(alice, alice_api):
    token, key = services.api_token_create(user=alice, name="ci")
    assert api_with(key).delete("/api/v1/auth/token/").status_code == 204
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert me(key).status_code == 401

    no_token = alice_api.delete("/api/v1/auth/token/")
    assert no_token.status_code == 400
    assert "Authorization: Token" in no_token.json()["detail"]


def test_the_api_lists_your_own_tokens_and_revokes_one(alice, bob):
    _, key = services.api_token_create(user=alice, name="mine")
    other, _ = services.api_token_create(user=alice, name="other")
    services.api_token_create(user=bob, name="bob's")

    listed = api_with(key).get("/api/v1/me/tokens/").json()
    assert [t["name"] for t in listed] == ["other", "mine"]
    assert set(listed[0]) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at"}

    assert api_with(key).delete(f"/api/v1/me/tokens/{other.pk}/").status_code == 204
    assert not ApiToken.objects.filter(pk=other.pk).exists()
    assert api_with(key).delete("/api/v1/me/tokens/999999/").status_code == 404


# --- Password changes and deactivation -----------------------------------------------------


def test_a_password_change_revokes_every_token_and_ends_other_sessions(client, alice, password):
    _, key = services.api_token_create(user=alice, name="script")
    sign_in(client, "alice", password)
    assert client.get("/accounts/profile/").status_code == 200

    alice.set_password("a new and long passphrase")
    alice.save()

    assert not ApiToken.objects.filter(user=alice).exists()
    assert me(key).status_code == 401
    assert client.get("/accounts/profile/").status_code == 302  # the session's hash is stale


def test_a_password_changed_in_the_admin_revokes_the_tokens(client, alice, root):
    _, key = services.api_token_create(user=alice, name="script")
    client.force_login(root)
    new = "another long passphrase 42"
    response = client.post(
        f"/admin/auth/user/{alice.pk}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(new)
    assert me(key).status_code == 401


def test_a_hash_upgrade_at_sign_in_is_not_a_password_change(alice, password, settings):
    _, key = services.api_token_create(user=alice, name="script")
    old_hash = alice.password
    settings.PASSWORD_HASHERS = [
        "tests.annotation.test_tokens.OneRoundPBKDF2",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    client = APIClient()
    sign_in(client, "alice", password)

    alice.refresh_from_db()
    assert alice.password != old_hash and alice.password.startswith("pbkdf2_sha256$1$")
    assert me(key).status_code == 200


def test_deactivating_a_user_revokes_tokens_and_ends_sessions(client, alice, password):
    _, key = services.api_token_create(user=alice, name="script")
    sign_in(client, "alice", password)
    UserFactory(username="bystander")
    other = APIClient()
    sign_in(other, "bystander", password)

    alice.is_active = False
    alice.save()

    assert me(key).status_code == 401
    assert not ApiToken.objects.filter(user=alice).exists()
    assert [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()] == [
        str(User.objects.get(username="bystander").pk)
    ]
    User.objects.filter(pk=alice.pk).update(is_active=True)
    assert client.get("/accounts/profile/").status_code == 302  # reactivation brings none back
    assert other.get("/api/v1/me/").status_code == 200


def test_a_deactivated_users_session_no_longer_authenticates(client, alice, password):
    """Even where nothing deleted it (an update() skips the receivers), Django's backend
    refuses the session of an inactive user."""
    sign_in(client, "alice", password)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert client.get("/accounts/profile/").status_code == 302
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_deactivating_in_the_admin_revokes_tokens(client, alice, root):
    _, key = services.api_token_create(user=alice, name="script")
    client.force_login(root)
    form = {
        "username": "alice",
        "email": alice.email,
        "is_staff": "",
        "is_superuser": "",
        "date_joined_0": "2030-01-01",
        "date_joined_1": "09:00:00",
        "initial-date_joined_0": "2030-01-01",
        "initial-date_joined_1": "09:00:00",
        # is_active left out: unticked
    }
    response = client.post(f"/admin/auth/user/{alice.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert alice.is_active is False
    assert not ApiToken.objects.filter(user=alice).exists()
    assert me(key).status_code == 401


def test_other_saves_of_the_user_keep_the_tokens(alice):
    _, key = services.api_token_create(user=alice, name="script")
    alice.first_name = "Alice"
    alice.save()
    alice.last_login = timezone.now()
    alice.save(update_fields=["last_login"])
    assert me(key).status_code == 200


# --- POST /api/v1/auth/token/ --------------------------------------------------------------


def test_signing_in_makes_a_named_token_that_expires_in_30_days_by_default(
    api_client, alice, password, time_machine
):
    time_machine.move_to(T0, tick=False)
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": password}, format="json"
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["name"] == "Password sign-in"
    assert body["prefix"] == body["token"][:12]
    assert ApiToken.objects.get().expires_at == T0 + datetime.timedelta(days=30)

    named = api_client.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": password, "name": "backup", "expires_in_days": None},
        format="json",
    ).json()
    assert named["name"] == "backup" and named["expires_at"] is None
    assert me(body["token"]).status_code == 200 and me(named["token"]).status_code == 200


def test_the_token_endpoint_refuses_bad_fields_with_400(api_client, alice, password):
    for extra in [{"expires_in_days": 0}, {"expires_in_days": "soon"}, {"name": "x" * 101}]:
        response = api_client.post(
            "/api/v1/auth/token/",
            {"username": "alice", "password": password, **extra},
            format="json",
        )
        assert response.status_code == 400, extra
        assert set(response.json()) == set(extra)
    assert not ApiToken.objects.exists()


def test_the_token_endpoint_is_closed_when_password_sign_in_is_off(
    api_client, alice, password, settings
):
    settings.FLOCK_PASSWORD_SIGN_IN = False
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": password}, format="json"
    )
    assert response.status_code == 403
    assert "Password sign-in is off" in response.json()["detail"]
    assert not ApiToken.objects.exists()


def test_the_token_endpoint_signs_in_through_django_with_the_request(api_client, alice):
    """Failures reach django.contrib.auth with the request, where sign-in throttling counts them."""
    seen = []

    def failed(sender, credentials, request=None, **kwargs):
        seen.append((credentials["username"], request.path if request else None))

    user_login_failed.connect(failed)
    try:
        response = api_client.post(
            "/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json"
        )
    finally:
        user_login_failed.disconnect(failed)
    assert response.status_code in (400, 429)
    assert seen == [("alice", "/api/v1/auth/token/")]


def test_expired_tokens_are_cleared_when_the_owner_makes_another(alice, time_machine):
    time_machine.move_to(T0, tick=False)
    services.api_token_create(user=alice, name="short", expires_in_days=1)
    services.api_token_create(user=alice, name="forever")
    time_machine.move_to(T0 + datetime.timedelta(days=2), tick=False)
    services.api_token_create(user=alice, name="new")
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["forever", "new"]
