from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from annotation import selectors
from annotation.models import (
    AgreementAcceptance,
    Category,
    Entry,
    EntryStatus,
    Profile,
    Revision,
    Team,
)
from annotation.text import ENTRY_FIELDS, normalize_fields, validate_draft, validate_submission
from config.errors import ActionForbidden, StateConflict

User = get_user_model()


# --- Accounts --------------------------------------------------------------------------------


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


def signup_email_allowed(email: str) -> bool:
    domain = email.rpartition("@")[2].lower()
    return bool(domain) and domain in settings.FLOCK_SIGNUP_EMAIL_DOMAINS


def user_sign_up(
    *,
    username: str,
    email: str,
    password: str,
    display_name: str = "",
    team: Team | None = None,
    activation_url_for,
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
    if not signup_email_allowed(email):
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


# --- Entries ---------------------------------------------------------------------------------


def _require_author(entry: Entry, actor: AbstractBaseUser) -> None:
    if entry.author_id != actor.pk:
        raise ActionForbidden("Only the author can change this entry.")


def _require_status(entry: Entry, *allowed: str, action: str) -> None:
    if entry.status not in allowed:
        raise StateConflict(f"A {entry.get_status_display().lower()} entry cannot be {action}.")


def _record_revision(entry: Entry, author: AbstractBaseUser) -> Revision:
    last = entry.revisions.aggregate(n=Max("number"))["n"] or 0
    return Revision.objects.create(
        entry=entry,
        number=last + 1,
        author=author,
        **{name: getattr(entry, name) for name in ENTRY_FIELDS},
    )


def entry_create(*, author: AbstractBaseUser, category: Category, values: dict) -> Entry:
    """Start a draft. Its text, if any, becomes revision 1."""
    cleaned = normalize_fields({name: values.get(name, "") for name in ENTRY_FIELDS})
    validate_draft(cleaned)
    with transaction.atomic():
        entry = Entry.objects.create(author=author, category=category, **cleaned)
        if any(cleaned.values()):
            _record_revision(entry, author)
    return entry


def entry_update(*, entry: Entry, actor: AbstractBaseUser, values: dict) -> Entry:
    """Save a draft's text (autosave calls this as the writer types).

    Only fields present in `values` change. A revision is recorded only when the text changed,
    so repeated autosaves of the same text cost one row.
    """
    _require_author(entry, actor)
    changes = normalize_fields({k: v for k, v in values.items() if k in ENTRY_FIELDS})
    validate_draft(changes)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        _require_status(entry, EntryStatus.DRAFT, action="edited")
        changed = [name for name, value in changes.items() if getattr(entry, name) != value]
        if changed:
            for name in changed:
                setattr(entry, name, changes[name])
            entry.save(update_fields=[*changed, "updated_at"])
            _record_revision(entry, actor)
    return entry


def entry_submit(*, entry: Entry, actor: AbstractBaseUser) -> Entry:
    """Send a draft to peer review once it meets the rules and the author accepted the agreement."""
    _require_author(entry, actor)
    status = selectors.agreement_status(user=actor)
    if status.current is None or not status.accepted:
        raise ActionForbidden(
            "Accept the contributor agreement before submitting; your draft is saved."
        )
    with transaction.atomic():
        entry = Entry.objects.select_for_update().select_related("category").get(pk=entry.pk)
        _require_status(entry, EntryStatus.DRAFT, action="submitted")
        validate_submission(
            category=entry.category, values={name: getattr(entry, name) for name in ENTRY_FIELDS}
        )
        entry.status = EntryStatus.SUBMITTED
        entry.submitted_at = timezone.now()
        entry.save(update_fields=["status", "submitted_at", "updated_at"])
    return entry


def entry_withdraw(*, entry: Entry, actor: AbstractBaseUser) -> Entry:
    """Take a submitted entry out of review; it can be reopened as a draft later."""
    _require_author(entry, actor)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        _require_status(entry, EntryStatus.SUBMITTED, action="withdrawn")
        entry.status = EntryStatus.WITHDRAWN
        entry.save(update_fields=["status", "updated_at"])
    return entry


def entry_reopen(*, entry: Entry, actor: AbstractBaseUser) -> Entry:
    """Turn a rejected or withdrawn entry back into a draft so its author can revise it."""
    _require_author(entry, actor)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        _require_status(entry, EntryStatus.REJECTED, EntryStatus.WITHDRAWN, action="revised")
        entry.status = EntryStatus.DRAFT
        entry.save(update_fields=["status", "updated_at"])
    return entry


def entry_delete(*, entry: Entry, actor: AbstractBaseUser) -> None:
    """Discard a draft. Anything that was ever submitted stays, for the record."""
    _require_author(entry, actor)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        _require_status(entry, EntryStatus.DRAFT, action="deleted")
        if entry.submitted_at is not None:
            raise StateConflict("This entry was submitted once; withdraw it instead of deleting.")
        entry.delete()
