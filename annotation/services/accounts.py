import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
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
    *,
    user: AbstractBaseUser,
    display_name: str,
    team: Team | None,
    show_on_leaderboard: bool,
    email_notifications: str | None = None,
) -> Profile:
    profile = profile_ensure(user=user)
    profile.display_name = display_name.strip()
    profile.team = team
    profile.show_on_leaderboard = show_on_leaderboard
    if email_notifications:
        profile.email_notifications = email_notifications
    profile.full_clean()
    profile.save()
    return profile


def signup_open() -> bool:
    """Self-service sign-up: for FLOCK_SIGNUP_EMAIL_DOMAINS, only where people sign in with a
    password, and never with company sign-in on (OIDC_OP_ISSUER): the identity provider makes
    the accounts then, and a sign-up with a colleague's address would leave an unconfirmed
    account in the way of the colleague's company sign-in."""
    return (
        bool(settings.FLOCK_SIGNUP_EMAIL_DOMAINS)
        and settings.FLOCK_PASSWORD_SIGN_IN
        and not settings.OIDC_OP_ISSUER
    )


def signup_email_allowed(*, email: str) -> bool:
    domain = email.rpartition("@")[2].lower()
    return bool(domain) and domain in settings.FLOCK_SIGNUP_EMAIL_DOMAINS


class ActivationTokenGenerator(PasswordResetTokenGenerator):
    """The confirmation link's token: valid for PASSWORD_RESET_TIMEOUT, for one state of the account.

    Its hash covers `is_active` and `last_login` (besides the password and e-mail), and confirming
    signs the person in: once the account is active, or has ever been signed in to, the same link
    is refused, so it is single use and never re-activates an account an admin deactivated.
    """

    key_salt = "annotation.services.accounts.ActivationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        last_login = "" if user.last_login is None else user.last_login.isoformat()
        return (
            f"{user.pk}|{user.password}|{user.is_active}|{last_login}|"
            f"{user.get_username()}|{user.email}|{timestamp}"
        )


activation_token_generator = ActivationTokenGenerator()

# Tried when a sign-up's username is taken: "erin", then "erin2", "erin3", …
_USERNAME_SUFFIXES = 50
# Erased accounts are named "erased-<id>-<random>" (services.erasure): no one else may start so.
ERASED_USERNAME_PREFIX = "erased-"


def username_refusal(username: str) -> str | None:
    """Why nobody may take `username`, or None."""
    if username.casefold().startswith(ERASED_USERNAME_PREFIX):
        return f'Usernames starting with "{ERASED_USERNAME_PREFIX}" name erased accounts; choose another.'
    return None


def user_sign_up(
    *,
    username: str,
    email: str,
    password: str,
    display_name: str = "",
    team: Team | None = None,
    activation_url_for: Callable[[str, str], str],
    sign_in_url: str = "",
    password_reset_url: str = "",
) -> AbstractBaseUser | None:
    """Sign a company address up; what happens is told by mail only, never in the answer.

    Sign-up is open only to FLOCK_SIGNUP_EMAIL_DOMAINS; confirming the link proves the address is
    the employee's, so the domain restriction means something. Whether an account or a username
    exists is never part of the answer (the caller says "check your mail" either way):

    - a new address gets an inactive account and its confirmation link
      (`activation_url_for(uid, token)` builds the absolute link; the caller knows the host). If
      the username is taken, the account gets the first free "<username>N" and the mail says so;
    - an address that already has an account gets no new one: its owner is told by mail that
      someone tried, with `sign_in_url` and `password_reset_url`.

    Returns the new account, or None when the address already had one. The check and the creation
    are one transaction (a uniqueness constraint on the address fits in it); a concurrent sign-up
    that takes the address or username first makes this one start over.
    """
    if not signup_open():
        raise ActionForbidden("Self-service sign-up is off; ask an administrator for an account.")
    email = User.objects.normalize_email(email.strip())
    errors = {}
    if not signup_email_allowed(email=email):
        allowed = ", ".join("@" + d for d in settings.FLOCK_SIGNUP_EMAIL_DOMAINS)
        errors["email"] = f"Use your company e-mail address ({allowed})."
    elif "+" in email.partition("@")[0]:
        # name+anything@ reaches the same mailbox: one person, one account.
        errors["email"] = "Use your plain company address, without a +tag."
    refusal = username_refusal(username)
    if refusal:
        errors["username"] = refusal
    try:
        validate_password(password, user=User(username=username, email=email))
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)

    for _attempt in range(3):
        try:
            with transaction.atomic():
                owners = list(User.objects.filter(email__iexact=email).order_by("pk"))
                if owners:
                    break
                chosen = username_free(username)
                user = User.objects.create_user(
                    username=chosen, email=email, password=password, is_active=False
                )
                Profile.objects.create(user=user, display_name=display_name.strip(), team=team)
        except IntegrityError:
            continue  # someone took the address or the username meanwhile: look again
        _send_confirmation(user=user, asked_for=username, activation_url_for=activation_url_for)
        return user
    else:
        raise StateConflict("Sign-up is busy; try again in a moment.")

    # Cost what creating an account costs, so that the answer's timing tells nothing either.
    make_password(password)
    _send_existing_account_notice(
        owners=owners, sign_in_url=sign_in_url, password_reset_url=password_reset_url
    )
    return None


def username_free(wanted: str) -> str:
    """`wanted`, or the first "<wanted>N" nobody has (usernames compare case-insensitively);
    never an erased account's kind of name (a company sign-in's "erased-x" becomes "erased_x")."""
    if username_refusal(wanted):
        wanted = wanted.replace("-", "_", 1)
    for suffix in ["", *range(2, _USERNAME_SUFFIXES + 2)]:
        candidate = f"{wanted[: 150 - len(str(suffix))]}{suffix}"
        if not User.objects.filter(username__iexact=candidate).exists():
            return candidate
    return f"{wanted[:117]}-{secrets.token_hex(16)}"


def _send_confirmation(
    *, user: AbstractBaseUser, asked_for: str, activation_url_for: Callable[[str, str], str]
) -> None:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = activation_url_for(uid, activation_token_generator.make_token(user))
    username = user.get_username()
    renamed = (
        f"The username {asked_for} was taken, so yours is {username}: sign in with it.\n\n"
        if username != asked_for
        else ""
    )
    send_mail(
        subject="Confirm your Flock account",
        message=(
            f"Hello {username},\n\n{renamed}"
            f"Confirm your account by opening this link and pressing the button on its page:\n"
            f"{link}\n\nIf you did not sign up for Flock, ignore this mail: without confirmation "
            f"no account is opened.\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )


def _send_existing_account_notice(
    *, owners: list[AbstractBaseUser], sign_in_url: str, password_reset_url: str
) -> None:
    names = ", ".join(owner.get_username() for owner in owners)
    reset = (
        f"Forgot your password? Set a new one here:\n{password_reset_url}\n\n"
        if password_reset_url
        else ""
    )
    send_mail(
        subject="Someone tried to sign up to Flock with your address",
        message=(
            f"Hello,\n\nSomeone, perhaps you, tried to open a Flock account with this e-mail "
            f"address. It already has one (username: {names}), so no new account was made.\n\n"
            f"Sign in here:\n{sign_in_url}\n\n{reset}"
            f"If you signed up recently and have not confirmed yet, open the link in the first "
            f"mail we sent you. If it was not you, ignore this mail.\n"
        ),
        from_email=None,
        recipient_list=[owners[0].email],
    )


def activation_user(*, uidb64: str, token: str) -> AbstractBaseUser | None:
    """The account a confirmation link may still confirm, or None when the link is not valid."""
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (User.DoesNotExist, ValueError, TypeError, OverflowError):
        return None
    if user.is_active or user.last_login is not None:
        return None
    if not activation_token_generator.check_token(user, token):
        return None
    return user


def user_activate(*, uidb64: str, token: str) -> AbstractBaseUser | None:
    """Activate the account behind a confirmation link; None when the link is not valid.

    Only an inactive account nobody ever signed in to can be confirmed, by a token made for that
    state; confirming sets is_active and last_login, so the link cannot be used twice.
    """
    with transaction.atomic():
        user = activation_user(uidb64=uidb64, token=token)
        if user is None:
            return None
        # Lock the row: of two confirmations at once, the second sees the account active.
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active or not activation_token_generator.check_token(user, token):
            return None
        # Confirming signs the person in (the caller logs them in): with last_login set, the
        # link stays spent even if an admin deactivates the account later.
        user.is_active = True
        user.last_login = timezone.now()
        user.save(update_fields=["is_active", "last_login"])
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
