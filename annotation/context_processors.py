from django.utils.functional import SimpleLazyObject

from annotation import selectors


def notifications(request) -> dict:
    """`notifications_unread` for the menu's badge: counted (one small query) only when a page
    shows it, and at most once a page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"notifications_unread": 0}
    return {
        "notifications_unread": SimpleLazyObject(
            lambda: selectors.notifications_unread_count(user=user)
        )
    }
