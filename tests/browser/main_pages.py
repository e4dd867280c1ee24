"""The main pages of Flock as each persona sees them, with enough data that every table and form
shows: the layout and accessibility tests walk them all."""

import datetime

from django.utils import timezone

from annotation import services
from annotation.models import Flag, FlagKind
from leaderboard.models import Contest
from tests.factories import EntryFactory, accepted_entry, handed_to, submitted

# Pages every signed-in person sees; `{entry}` is their own entry, `{review}` one handed to them.
CONTRIBUTOR_PAGES = {
    "write list": "/write/",
    "write form": "/write/open_qa/",
    "my entries": "/entries/",
    "entry detail": "/entries/{entry}/",
    "review home": "/review/",
    "review entry": "/review/{review}/",
    "leaderboard": "/leaderboard/",
    "points": "/points/",
    "profile": "/accounts/profile/",
    "agreement": "/agreement/",
}
STAFF_PAGES = {
    **CONTRIBUTOR_PAGES,
    "moderation": "/moderation/",
    "workbench": "/moderation/entries/",
    "contests": "/contests/",
    "exports": "/exports/",
    "drive": "/drive/",
}


def main_pages(*, contributor, moderator, other) -> dict[str, dict[str, str]]:
    """Data behind every main page; the pages per persona ("contributor", "moderator")."""
    services.agreement_accept(user=contributor)
    now = timezone.now()
    Contest.objects.create(
        name="December sprint",
        starts_at=now - datetime.timedelta(days=1),
        ends_at=now + datetime.timedelta(days=6),
        grace_ends_at=now + datetime.timedelta(days=8),
        prize="A mug",
    )
    pages = {}
    for persona, user, names in (
        ("contributor", contributor, CONTRIBUTOR_PAGES),
        ("moderator", moderator, STAFF_PAGES),
    ):
        own = EntryFactory(author=user)
        to_review = handed_to(submitted(other), user)
        pages[persona] = {
            name: url.format(entry=own.pk, review=to_review.pk) for name, url in names.items()
        }
    # A decided entry, whose review page offers the moderator the overturn form; and an entry of
    # the contributor's whose outcome a moderator overturned, as its author reads it.
    decided = submitted(other)
    services.entry_decide(entry=decided, moderator=moderator, verdict="approve", reason="Fine.")
    pages["moderator"]["review decided"] = f"/review/{decided.pk}/"
    overturned = submitted(contributor)
    services.entry_decide(entry=overturned, moderator=moderator, verdict="approve", reason="Fine.")
    services.entry_overturn(
        entry=overturned, moderator=moderator, verdict="reject", reason="The date is wrong."
    )
    pages["contributor"]["entry overturned"] = f"/entries/{overturned.pk}/"
    # An accepted entry of the contributor's, which they may withdraw from future releases, and
    # the page that asks them to confirm it.
    released = accepted_entry(contributor)
    pages["contributor"]["entry accepted"] = f"/entries/{released.pk}/"
    pages["contributor"]["release withdraw"] = f"/entries/{released.pk}/release-withdraw/"
    flagged = submitted(other)
    Flag.objects.create(
        entry=flagged,
        kind=FlagKind.PERSONAL_DATA,
        evidence='response: e-mail address "someone@example.com"',
        evidence_key="response:email:someone@example.com",
        blocking=True,
    )
    return pages
