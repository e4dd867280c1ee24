"""Look-ups shared by the pages and the API: what a selector cannot find is a 404 for the caller.

Someone else's draft answers exactly like a missing one, so ids reveal nothing.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from annotation import selectors
from annotation.models import Category, Entry


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
    try:
        return selectors.entry_get_for_review(viewer=user, entry_id=int(entry_id))
    except (Entry.DoesNotExist, TypeError, ValueError):
        raise Http404("No such entry under review.") from None
