"""Who may do what beyond writing and reviewing. One definition, used by services, pages and API."""

from django.contrib.auth.models import AbstractBaseUser


def is_moderator(user: AbstractBaseUser | None) -> bool:
    """Moderators (and contest admins) are staff accounts."""
    return bool(user is not None and user.is_authenticated and user.is_staff)


def is_admin(user: AbstractBaseUser | None) -> bool:
    """Admins (superusers) act for anyone where a person may act for themselves: withdraw
    anyone's entries from releases, erase anyone's data (annotation/services/erasure.py)."""
    return bool(user is not None and user.is_authenticated and user.is_superuser)
