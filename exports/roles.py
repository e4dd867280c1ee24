"""Who may build and download export snapshots: staff and the data scientists' group."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser


def is_data_scientist(user: AbstractBaseUser | None) -> bool:
    """Staff, or a member of FLOCK_DATA_SCIENTISTS_GROUP (checked once per user object)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    cached = getattr(user, "_flock_data_scientist", None)
    if cached is None:
        cached = user.groups.filter(name=settings.FLOCK_DATA_SCIENTISTS_GROUP).exists()
        user._flock_data_scientist = cached
    return cached
