"""Company sign-in: what the identity provider's claims make of a Flock account.

The protocol (discovery, tokens, signatures) is annotation/oidc.py's; this module decides who may
come in and with which profile and roles. Settings (docs/security.md, "Company sign-in"):
OIDC_ALLOWED_EMAIL_DOMAINS, OIDC_CLAIM_USERNAME, OIDC_CLAIM_DISPLAY_NAME, OIDC_CLAIM_TEAM,
OIDC_CLAIM_GROUPS, OIDC_STAFF_GROUPS, OIDC_DATA_SCIENTIST_GROUPS.
"""

import re
from collections.abc import Mapping

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import IntegrityError, transaction

from annotation.models import Profile, Team
from annotation.services.accounts import username_free
from config.errors import ActionForbidden

User = get_user_model()

_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")
_USERNAME_MAX = 150
_NAME_MAX = 100


class SignInRefused(ActionForbidden):
    """Company sign-in refused. `message` says why in words a person understands; `reason` is a
    short code for the log and the tests; `status_code` is the page's status."""

    def __init__(self, message: str, *, reason: str, status_code: int = 403):
        super().__init__(message)
        self.reason = reason
        self.status_code = status_code


def claim(claims: Mapping, name: str):
    """A claim by its name, or by a dotted path into nested claims (`realm_access.roles`).

    The exact name wins, since namespaced claims (`https://example.com/groups`) contain dots.
    """
    if not name:
        return None
    if name in claims:
        return claims[name]
    value = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def claim_groups(claims: Mapping) -> set[str]:
    """The provider's groups for this person: a list of names, or one name; anything else is none."""
    value = claim(claims, settings.OIDC_CLAIM_GROUPS)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple):
        return {item for item in value if isinstance(item, str)}
    return set()


def oidc_email_check(*, claims: Mapping) -> str:
    """The person's e-mail address, once it is known, verified and in an allowed domain."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email.strip("@ "):
        raise SignInRefused(
            "Your company account did not tell Flock your e-mail address, which Flock needs to "
            "find your account. Ask your administrator to release the e-mail claim to Flock.",
            reason="email_missing",
        )
    email = User.objects.normalize_email(email.strip())
    if claims.get("email_verified") in (False, "false"):
        raise _unverified(email=email)
    domain = email.rpartition("@")[2].lower()
    allowed = settings.OIDC_ALLOWED_EMAIL_DOMAINS  # required with company sign-in (settings)
    if domain not in allowed:
        listed = ", ".join("@" + d for d in allowed)
        raise SignInRefused(
            f"Accounts with an @{domain} address may not sign in here. Sign in with your company "
            f"address ({listed}).",
            reason="email_domain",
        )
    return email


def _unverified(*, email: str) -> SignInRefused:
    return SignInRefused(
        f"Your e-mail address {email} is not verified at your company account yet. Verify it "
        "there, then sign in again.",
        reason="email_unverified",
    )


def oidc_identity(*, claims: Mapping) -> str:
    """Who the provider says this is, for good, as "<issuer>|<sub>" (an address can change
    hands, the subject never does). The subject is the verified ID token's."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise SignInRefused(
            "The sign-in answer from your company account is missing details Flock needs.",
            reason="incomplete_token",
            status_code=400,
        )
    return f"{settings.OIDC_OP_ISSUER}|{sub}"


def oidc_user_sign_in(*, claims: Mapping) -> AbstractBaseUser:
    """The account for a person the identity provider vouched for, made or brought up to date.

    The account is found by the provider's identity (issuer and subject) first, and its address
    follows the provider's unless another account has that address. Otherwise by e-mail address
    (an account made with a password before company sign-in is the same person's), which links
    it to the identity: only when the provider says the address is verified, if it says
    anything about that, and never when the account is linked to another identity already (an
    address the company gave someone new does not inherit the old owner's account). Otherwise a
    new account is made, without a usable password, with its profile.

    Every sign-in sets the display name, team and roles from the claims, so that someone the
    provider moved out of a group loses its role now. An account an administrator deactivated
    stays out, unchanged.
    """
    email = oidc_email_check(claims=claims)
    identity = oidc_identity(claims=claims)
    with transaction.atomic():
        user = _user_by_identity(identity=identity)
        if user is None:
            user = _user_by_email(email=email, identity=identity, claims=claims)
        if user is None:
            user = _user_create(email=email, claims=claims)
        if not user.is_active:
            raise SignInRefused(
                "Your Flock account has been switched off by an administrator. Ask them if you "
                "think this is a mistake.",
                reason="inactive",
            )
        _email_sync(user=user, email=email)
        _profile_sync(user=user, claims=claims, identity=identity)
        _roles_sync(user=user, groups=claim_groups(claims))
    return user


def _user_by_identity(*, identity: str) -> AbstractBaseUser | None:
    profile = Profile.objects.filter(oidc_identity=identity).only("user_id").first()
    if profile is None:
        return None
    return User.objects.select_for_update().get(pk=profile.user_id)


def _user_by_email(*, email: str, identity: str, claims: Mapping) -> AbstractBaseUser | None:
    matches = list(User.objects.select_for_update().filter(email__iexact=email)[:2])
    if len(matches) > 1:
        raise SignInRefused(
            f"More than one Flock account has the address {email}, so Flock cannot tell which "
            "is yours. Ask an administrator to merge them.",
            reason="email_ambiguous",
        )
    if not matches:
        return None
    user = matches[0]
    linked = Profile.objects.filter(user=user).values_list("oidc_identity", flat=True).first()
    if linked and linked != identity:
        raise _identity_conflict(email=email)
    # Providers that never send email_verified are trusted as before (the domain check stands);
    # one that sends it must say true before an existing account becomes this identity's.
    if "email_verified" in claims and claims["email_verified"] not in (True, "true"):
        raise _unverified(email=email)
    return user


def _identity_conflict(*, email: str) -> SignInRefused:
    return SignInRefused(
        f"The address {email} belongs to another company account in Flock, so Flock did not "
        "sign you in to it. Ask an administrator.",
        reason="identity_conflict",
    )


def _email_sync(*, user: AbstractBaseUser, email: str) -> None:
    """The provider's address, unless another account has it (then the account keeps its own)."""
    if user.email == email or User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        return
    user.email = email
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError:
        # Another account took the address meanwhile (a unique address constraint).
        user.refresh_from_db(fields=["email"])


def _user_create(*, email: str, claims: Mapping) -> AbstractBaseUser:
    username = username_free(_username_wanted(email=email, claims=claims))
    try:
        with transaction.atomic():
            # No password: this person signs in through the provider only.
            return User.objects.create_user(username=username, email=email)
    except IntegrityError:
        # Another first sign-in of the same person won the race (a unique address constraint).
        existing = User.objects.filter(email__iexact=email).first()
        if existing is None:
            raise
        return existing


def _username_wanted(*, email: str, claims: Mapping) -> str:
    wanted = claim(claims, settings.OIDC_CLAIM_USERNAME)
    if not isinstance(wanted, str) or not wanted.strip():
        wanted = email
    wanted = wanted.strip()
    if "@" in wanted:  # an address as the username: its local part reads better on boards
        wanted = wanted.rpartition("@")[0]
    wanted = _USERNAME_UNSAFE.sub("", wanted)[: _USERNAME_MAX - 8]
    return wanted or "user"


def _profile_sync(*, user: AbstractBaseUser, claims: Mapping, identity: str) -> None:
    profile, _ = Profile.objects.get_or_create(user=user)
    changed = []
    if profile.oidc_identity != identity:
        if profile.oidc_identity:  # linked meanwhile by a sign-in of another identity
            raise _identity_conflict(email=user.email)
        profile.oidc_identity = identity
        changed.append("oidc_identity")
    name = claim(claims, settings.OIDC_CLAIM_DISPLAY_NAME)
    if isinstance(name, str) and name.strip()[:_NAME_MAX] != profile.display_name:
        profile.display_name = name.strip()[:_NAME_MAX]
        changed.append("display_name")
    if settings.OIDC_CLAIM_TEAM:
        # The provider is the source of truth for teams: no team claim means no team.
        team_name = claim(claims, settings.OIDC_CLAIM_TEAM)
        team = _team_for(team_name) if isinstance(team_name, str) else None
        if team != profile.team:
            profile.team = team
            changed.append("team")
    if changed:
        profile.save(update_fields=changed)


def _team_for(name: str) -> Team | None:
    name = name.strip()[:_NAME_MAX]
    if not name:
        return None
    team = Team.objects.filter(name__iexact=name).first()
    if team is None:
        team, _ = Team.objects.get_or_create(name=name)
    return team


def _roles_sync(*, user: AbstractBaseUser, groups: set[str]) -> None:
    """Staff and the data scientists' group follow the provider's groups, for each role whose
    groups are configured (unconfigured, the role stays the admin's to give). A superuser keeps
    staff: superusers are made in the admin or with createsuperuser, not by the provider."""
    staff_groups = set(settings.OIDC_STAFF_GROUPS)
    if staff_groups and not user.is_superuser:
        is_staff = bool(groups & staff_groups)
        if user.is_staff != is_staff:
            user.is_staff = is_staff
            user.save(update_fields=["is_staff"])
    scientist_groups = set(settings.OIDC_DATA_SCIENTIST_GROUPS)
    if scientist_groups:
        scientists, _ = Group.objects.get_or_create(name=settings.FLOCK_DATA_SCIENTISTS_GROUP)
        if groups & scientist_groups:
            user.groups.add(scientists)
        else:
            user.groups.remove(scientists)
