"""API tokens and sessions: the ways back in that a user holds besides their password.

A token's key is `flk_` and 43 URL-safe characters (32 random bytes); only its sha256 is stored,
so the key is shown once, when the token is made. An unsalted fast hash is enough for a key with
256 bits of entropy (nothing to guess, no dictionary to try), and it lets a request find its token
with one indexed look-up. Revoking deletes the token.
"""

import datetime
import hashlib
import secrets
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from annotation.models import ApiToken
from annotation.roles import is_moderator
from config.errors import ActionForbidden, DomainError

KEY_START = "flk_"
PREFIX_CHARS = len(KEY_START) + 8
MAX_NAME_CHARS = ApiToken._meta.get_field("name").max_length
MAX_EXPIRY_DAYS = 3650
# A token made by signing in with a password (POST /api/v1/auth/token/) lasts this long unless
# the script asks otherwise: scripts that sign in on every run leave no token behind for long.
PASSWORD_SIGN_IN_TOKEN_DAYS = 30
PASSWORD_SIGN_IN_TOKEN_NAME = "Password sign-in"
# A key longer than this is refused before it is hashed.
MAX_KEY_CHARS = 200
# last_used_at is written at most this often per token, not on every request.
LAST_USED_EVERY = datetime.timedelta(minutes=1)


class TokenRefused(DomainError):
    """The key names no usable token: unknown, expired, or its user is deactivated."""

    status_code = 401
    code = "authentication_failed"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(
    *,
    user: AbstractBaseUser,
    name: str,
    expires_in_days: int | None = None,
    now: datetime.datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for `user` and its key, which is not stored and cannot be shown again.

    The user's tokens that have expired are removed on the way, so that a script that signs in
    with a password on every run does not pile up dead tokens.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, e.g. what the script does."})
    if len(name) > MAX_NAME_CHARS:
        raise ValidationError({"name": f"At most {MAX_NAME_CHARS} characters."})
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ValidationError(
            {"expires_in_days": f"Between 1 and {MAX_EXPIRY_DAYS} days, or none for no expiry."}
        )
    now = now or timezone.now()
    ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
    key = KEY_START + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:PREFIX_CHARS],
        digest=key_digest(key),
        created_at=now,
        expires_at=now + datetime.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    return token, key


def api_token_authenticate(*, key: str) -> ApiToken:
    """The token a request's key names, its user loaded, and its last use noted.

    Raises TokenRefused, with a message for the caller, for an unknown or expired key and for a
    deactivated user (whose tokens are revoked anyway; this covers an `update()` that skipped
    the receivers).
    """
    token = None
    if len(key) <= MAX_KEY_CHARS:
        token = ApiToken.objects.select_related("user").filter(digest=key_digest(key)).first()
    if token is None:
        raise TokenRefused("Invalid token.")
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused(
            f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC: "
            "make a new one on your profile page."
        )
    if not token.user.is_active:
        raise TokenRefused("This account is deactivated.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        # Conditional, so that concurrent requests write it once.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_revoke(*, token: ApiToken, by: AbstractBaseUser) -> None:
    """Revoke (delete) a token: its owner or staff may."""
    if token.user_id != by.pk and not is_moderator(by):
        raise ActionForbidden("Only the token's owner or staff may revoke it.")
    token.delete()


def api_tokens_revoke_all(*, user: AbstractBaseUser) -> int:
    """Revoke every token of `user`; how many there were."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted


def user_sessions_end(*, user: AbstractBaseUser) -> int:
    """Delete the user's sessions where the session engine keeps them in the database.

    Django already refuses a session whose user is inactive, or whose password changed since it
    signed in; deleting the sessions of a deactivated user makes sure that reactivating the
    account does not bring them back. The engine's rows are read one by one (a session holds
    its user only in its signed data): a rare, staff-triggered cost. With a cache or cookie
    engine there is nothing to enumerate, and the checks above remain.
    """
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store_class, "get_model_class"):
        return 0
    rows = (
        store_class.get_model_class()
        .objects.filter(expire_date__gt=timezone.now())
        .values_list("session_key", "session_data")
    )
    decoder = store_class()
    ended = 0
    for session_key, data in rows.iterator():
        if decoder.decode(data).get(SESSION_KEY) == str(user.pk):
            store_class(session_key=session_key).delete()
            ended += 1
    return ended
