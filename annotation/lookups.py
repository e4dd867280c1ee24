"""Look-ups shared by the pages and the API: what a selector cannot find is a 404 for the caller.

An entry the caller may not read (selectors.entries_visible_to: someone else's draft, an entry
they neither wrote, reviewed, hold nor moderate) answers exactly like a missing one, and so does
a flag on it, so ids reveal nothing.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from annotation import selectors
from annotation.models import ApiToken, Category, Entry, Flag


def category_or_404(slug: str) -> Category:
    try:
        return selectors.category_get_active(slug=slug)
    except Category.DoesNotExist:
        raise Http404("No such category.") from None


def own_entry_or_404(user: AbstractBaseUser, entry_id) -> Entry:
    try:
        return selectors.entry_get_for_author(author=user, entry_id=int(entry_id))
    except (Entry.DoesNotExist, TypeError, ValueError):
        raise Http404("No such entry.") from None


def entry_for_review_or_404(user: AbstractBaseUser, entry_id) -> Entry:
    """An entry the user may read, for the review pages and API and an entry's flags."""
    try:
        return selectors.entry_get_visible(viewer=user, entry_id=int(entry_id))
    except (Entry.DoesNotExist, TypeError, ValueError):
        raise Http404("No such entry.") from None


def flag_or_404(user: AbstractBaseUser, flag_id) -> Flag:
    """A flag on an entry the user may read (flags follow their entry)."""
    try:
        return selectors.flag_get_visible(viewer=user, flag_id=int(flag_id))
    except (Flag.DoesNotExist, TypeError, ValueError):
        raise Http404("No such flag.") from None


def own_api_token_or_404(user: AbstractBaseUser, token_id) -> ApiToken:
    """One of the user's tokens; someone else's answers like a missing one."""
    try:
        return selectors.api_token_get_for_owner(owner=user, token_id=int(token_id))
    except (ApiToken.DoesNotExist, TypeError, ValueError):
        raise Http404("No such token.") from None


def entry_for_release_withdrawal_or_404(user: AbstractBaseUser, entry_id) -> Entry:
    """An entry the user may ask to withdraw from releases (its author, an admin) or may read
    (and is then told they may not); any other answers like a missing one."""
    try:
        return selectors.entry_get_for_release_withdrawal(actor=user, entry_id=int(entry_id))
    except (Entry.DoesNotExist, TypeError, ValueError):
        raise Http404("No such entry.") from None
