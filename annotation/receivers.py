"""What a change to a user's credentials does to the other ways in (connected in apps.py).

A signal rather than calls at each site, because the password and `is_active` change in many
places: the admin, `set_password` and `save` in a shell, password reset, sign-up confirmation,
company sign-in. Here, in one place: a deactivated user loses their API tokens and sessions, and
a changed password revokes the tokens (Django itself ends the other sessions, whose stored hash
no longer matches). A hasher upgrade at sign-in is not a password change.
"""

from django.contrib.auth.hashers import is_password_usable

from annotation import services

_BEFORE = "_flock_credentials_before"


def remember_credentials(sender, instance, raw=False, update_fields=None, **kwargs):
    """pre_save: note the stored password hash and `is_active` before they are overwritten."""
    setattr(instance, _BEFORE, None)
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # the last-login stamp at every sign-in, say
    stored = sender._default_manager.filter(pk=instance.pk).values("password", "is_active")
    setattr(instance, _BEFORE, stored.first())


def revoke_on_credentials_change(sender, instance, raw=False, update_fields=None, **kwargs):
    """post_save: revoke tokens (and end sessions) when the credentials changed."""
    before = instance.__dict__.pop(_BEFORE, None)
    if raw or before is None:
        return
    deactivated = before["is_active"] and not instance.is_active
    if deactivated or _password_changed(before["password"], instance, update_fields):
        services.api_tokens_revoke_all(user=instance)
    if deactivated:
        services.user_sessions_end(user=instance)


def _password_changed(stored: str, user, update_fields) -> bool:
    if stored == user.password:
        return False
    if not is_password_usable(stored) and not is_password_usable(user.password):
        return False  # one unusable password replaced by another (company sign-in accounts)
    # Django's hash upgrade at sign-in saves only the password, with no new raw password
    # (check_password's setter clears it): the same password, rehashed.
    hash_upgrade = getattr(user, "_password", None) is None and update_fields == {"password"}
    return not hash_upgrade
