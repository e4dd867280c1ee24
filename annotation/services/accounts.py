from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from annotation import selectors
from annotation.models import AgreementAcceptance, Profile, Team
from config.errors import ActionForbidden, StateConflict

User = get_user_model()


def profile_ensure(*, user: AbstractBaseUser) -> Profile:
    """The user's profile, made on first use (accounts created in the admin have none yet)."""
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def profile_update(
    *, user: AbstractBaseUser, display_name: str, team: Team | None, show_on_leaderboard: bool
) -> Profile:
    profile = profile_ensure(user=user)
    profile.display_name = display_name.strip()
    profile.team = team
    profile.show_on_leaderboard = show_on_leaderboard
    profile.full_clean()
    profile.save()
    return profile


def signup_email_allowed(*, email: str) -> bool:
    domain = email.rpartition("@")[2].lower()
    return bool(domain) and domain in settings.FLOCK_SIGNUP_EMAIL_DOMAINS


def user_sign_up(
    *,
    username: str,
    email: str,
    password: str,
    display_name: str = "",
    team: Team | None = None,
    activation_url_for: Callable[[str, str], str],
) -> AbstractBaseUser:
    """Create an inactive account for a company address and e-mail its confirmation link.

    Sign-up is open only to FLOCK_SIGNUP_EMAIL_DOMAINS; confirming the link proves the address is
    the employee's, so the domain restriction means something. `activation_url_for(uid, token)`
    builds the absolute link (the caller knows the host).
    """
    if not settings.FLOCK_SIGNUP_EMAIL_DOMAINS:
        raise ActionForbidden("Self-service sign-up is off; ask an administrator for an account.")
    email = User.objects.normalize_email(email.strip())
    errors = {}
    if not signup_email_allowed(email=email):
        allowed = ", ".join("@" + d for d in settings.FLOCK_SIGNUP_EMAIL_DOMAINS)
        errors["email"] = f"Use your company e-mail address ({allowed})."
    elif User.objects.filter(email__iexact=email).exists():
        errors["email"] = "An account with this e-mail address exists; sign in instead."
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = "This username is taken."
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=email, password=password, is_active=False
        )
        Profile.objects.create(user=user, display_name=display_name.strip(), team=team)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = activation_url_for(uid, token)
    send_mail(
        subject="Confirm your Flock account",
        message=f"Hello {username},\n\nConfirm your account by opening this link:\n{link}\n",
        from_email=None,
        recipient_list=[email],
    )
    return user


def user_activate(*, uidb64: str, token: str) -> AbstractBaseUser | None:
    """Activate the account behind a confirmation link; None when the link is not valid."""
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (User.DoesNotExist, ValueError, TypeError, OverflowError):
        return None
    if not default_token_generator.check_token(user, token):
        return None
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    return user


def agreement_accept(*, user: AbstractBaseUser, version: str | None = None) -> AgreementAcceptance:
    """Record that the user accepts the agreement in force (once per version).

    `version`, when given, must be the one in force, so that nobody accepts text they were not shown.
    """
    current = selectors.agreement_current()
    if current is None:
        raise StateConflict("No contributor agreement is published yet; ask an administrator.")
    if version is not None and version != current.version:
        raise StateConflict(
            f"Version {version} is not the agreement in force; read version {current.version}."
        )
    acceptance, _ = AgreementAcceptance.objects.get_or_create(user=user, agreement=current)
    return acceptance
