"""Carol (a moderator) flags entries by hand, with a note: through the API and the review page.
The flag blocks export until resolved, reviewers and the author see it, and nobody else may
raise one. An entry with a confirmed blocking flag leaves the review queue."""

import pytest
from django.urls import reverse

from annotation import holds, selectors, services
from annotation.models import EntryStatus, Flag, FlagKind, FlagStatus
from exports.selectors import exportable_entries
from tests.factories import EntryFactory, UserFactory, handed_to, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol_api(api_client, carol):
    api_client.force_authenticate(carol)
    return api_client


def url(entry) -> str:
    return f"/api/v1/entries/{entry.pk}/flags/"


def test_a_moderator_flags_an_accepted_entry_and_it_leaves_the_snapshots(carol_api, alice):
    entry = EntryFactory(author=alice, status=EntryStatus.ACCEPTED)
    assert list(exportable_entries()) == [entry]
    body = {"kind": "moderator", "note": "The passage is from a paywalled site."}
    response = carol_api.post(url(entry), body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["kind"], data["blocking"], data["status"]) == ("moderator", True, "open")
    assert data["evidence"] == "The passage is from a paywalled site."
    flag = Flag.objects.get(pk=data["id"])
    assert flag.raised_by.username == "carol" and holds.flag_holds_back(flag)
    assert list(exportable_entries()) == []
    # Resolved, it lets the entry back in (dismissed) or keeps it out (confirmed).
    services.flag_resolve(flag=flag, moderator=flag.raised_by, action="dismiss")
    assert list(exportable_entries()) == [entry]


def test_reviewers_and_the_author_see_a_hand_raised_flag(carol_api, api_client, alice, bob):
    entry = handed_to(submitted(alice), bob)
    carol_api.post(url(entry), {"kind": "personal_data", "note": "A home address."})
    for user in (alice, bob):
        api_client.force_authenticate(user)
        flags = api_client.get(url(entry)).json()
        assert [(f["kind"], f["evidence"]) for f in flags] == [("personal_data", "A home address.")]


def test_only_moderators_raise_flags(api_client, alice, bob):
    entry = submitted(alice)
    body = {"kind": "moderator", "note": "Looks wrong."}
    assert api_client.post(url(entry), body).status_code == 401
    api_client.force_authenticate(bob)
    refused = api_client.post(url(entry), body)
    assert refused.status_code == 403 and "moderators" in refused.json()["detail"]
    api_client.force_authenticate(alice)
    assert api_client.post(url(entry), body).status_code == 403
    assert not Flag.objects.exists()


def test_bad_flags_are_refused_with_a_reason(carol_api, carol, alice):
    entry = submitted(alice)
    no_note = carol_api.post(url(entry), {"kind": "moderator", "note": "  "}, format="json")
    assert no_note.status_code == 400 and "note" in no_note.json()
    odd = carol_api.post(url(entry), {"kind": "vibes", "note": "x"}, format="json")
    assert odd.status_code == 400 and "kind" in odd.json()
    missing = carol_api.post("/api/v1/entries/999999/flags/", {"kind": "moderator", "note": "x"})
    assert missing.status_code == 404
    draft = EntryFactory(author=alice)
    assert carol_api.post(url(draft), {"kind": "moderator", "note": "x"}).status_code == 404
    own = submitted(carol)
    mine = carol_api.post(url(own), {"kind": "moderator", "note": "x"})
    assert mine.status_code == 403
    first = carol_api.post(url(entry), {"kind": "moderator", "note": "Once."})
    again = carol_api.post(url(entry), {"kind": "moderator", "note": "Twice."})
    assert (first.status_code, again.status_code) == (201, 409)
    assert Flag.objects.count() == 1


def test_the_review_page_form_raises_a_flag_and_shows_errors(client, carol, alice, bob):
    entry = EntryFactory(author=alice, status=EntryStatus.ACCEPTED)
    client.force_login(carol)
    page = client.get(reverse("annotation:review_entry", args=[entry.pk]))
    assert b"Raise a flag" in page.content
    target = reverse("annotation:flag_raise", args=[entry.pk])
    empty = client.post(target, {"kind": "moderator", "note": ""})
    assert empty.status_code == 400 and b"This field is required" in empty.content
    done = client.post(target, {"kind": "ai_text", "note": "Reads like a chatbot."}, follow=True)
    assert done.status_code == 200 and b"blocks export until resolved" in done.content
    assert Flag.objects.get(entry=entry).raised_by == carol
    client.force_login(bob)
    assert (
        b"Raise a flag"
        not in client.get(reverse("annotation:review_entry", args=[entry.pk])).content
    )
    assert client.post(target, {"kind": "moderator", "note": "x"}).status_code == 403


def test_a_confirmed_blocking_flag_takes_an_entry_out_of_the_review_queue(alice, carol):
    reviewer = UserFactory(username="rita")
    flagged, open_flag, plain = (submitted(alice) for _ in range(3))
    hand = services.flag_raise_by_hand(
        entry=flagged, moderator=carol, kind=FlagKind.AI_TEXT, note="Chatbot text."
    )
    services.flag_raise_by_hand(
        entry=open_flag, moderator=carol, kind=FlagKind.MODERATOR, note="Have a look."
    )
    queue = set(selectors.review_queue(reviewer=reviewer))
    assert queue == {flagged, open_flag, plain}  # open: still worth reviewing
    services.flag_resolve(flag=hand, moderator=carol, action="confirm")
    assert set(selectors.review_queue(reviewer=reviewer)) == {open_flag, plain}
    assert services.review_next(reviewer=reviewer) != flagged
    hand.refresh_from_db()
    assert hand.status == FlagStatus.CONFIRMED
