"""Audit finding 10 (issue 12): who may read an entry and its flags, on every page and endpoint.

Alice writes; Bob reviewed her entry; Dave is another contributor, who never reviewed it; Carol is
a moderator; Dana a data scientist. A decided entry is Alice's, Bob's and Carol's to read, and
Dave and Dana are told it does not exist (404, like an id never used). A draft is Alice's alone,
Carol included. Personal data in a flag's evidence is masked wherever it is shown."""

import pytest

from annotation import selectors, services
from annotation.models import Decision, EntryStatus, Flag, FlagKind
from quality import services as quality
from tests.factories import UserFactory, submitted

pytestmark = pytest.mark.django_db

CARD = "4111 1111 1111 1111"
CARD_SHOWN = "•••• •••• •••• 1111"
EMAIL = "jane.doe@corp.example"


@pytest.fixture
def decided(alice, bob, carol):
    """Alice's entry with a card number in it, reviewed by Bob, accepted by Carol."""
    services.agreement_accept(user=alice)
    entry = submitted(alice, response=f"Pay the invoice with card {CARD} by Friday.")
    quality.entry_check(entry=entry)
    services.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    services.entry_decide(entry=entry, moderator=carol, verdict="approve", reason="Fine.")
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED
    assert Flag.objects.filter(entry=entry, kind=FlagKind.PERSONAL_DATA).exists()
    return entry


@pytest.fixture
def draft(alice, carol):
    """Alice's entry with an e-mail address: flagged, rejected by Carol, reopened as a draft."""
    services.agreement_accept(user=alice)
    entry = submitted(alice, response=f"Write to {EMAIL} for the keys.")
    quality.entry_check(entry=entry)
    services.entry_decide(entry=entry, moderator=carol, verdict="reject", reason="Personal data.")
    entry = services.entry_reopen(entry=entry, actor=alice)
    assert entry.status == EntryStatus.DRAFT
    return entry


def _get(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_a_decided_entry_and_its_flags_are_for_its_author_reviewers_and_moderators(
    client, decided, alice, bob, carol, dave, dana
):
    review_page = f"/review/{decided.pk}/"
    flags_api = f"/api/v1/entries/{decided.pk}/flags/"
    # The author is sent to her own page, which shows the flags.
    assert _get(client, alice, review_page).status_code == 302
    assert _get(client, alice, f"/entries/{decided.pk}/").status_code == 200
    for reader in (alice, bob, carol):
        response = _get(client, reader, flags_api)
        assert response.status_code == 200, reader
        assert {flag["kind"] for flag in response.json()} >= {FlagKind.PERSONAL_DATA}
    for reader in (bob, carol):
        page = _get(client, reader, review_page)
        assert page.status_code == 200 and "Quality flags" in page.content.decode()
    for outsider in (dave, dana):
        for url in (review_page, flags_api, f"/entries/{decided.pk}/"):
            assert _get(client, outsider, url).status_code == 404, (outsider, url)
        assert not selectors.entries_visible_to(viewer=outsider).filter(pk=decided.pk).exists()


def test_an_outsider_is_answered_like_a_missing_id_on_every_endpoint(client, decided, dave, dana):
    """The same 404 body for an entry one may not read as for an id never used."""
    missing = decided.pk + 1000
    for outsider in (dave, dana):
        client.force_login(outsider)
        for method, path, body in [
            ("get", "/api/v1/entries/{}/flags/", None),
            ("post", "/api/v1/entries/{}/reviews/", {"verdict": "approve", "rating": 5}),
            ("post", "/api/v1/entries/{}/skip/", None),
        ]:
            hidden = getattr(client, method)(
                path.format(decided.pk), body, content_type="application/json"
            )
            absent = getattr(client, method)(
                path.format(missing), body, content_type="application/json"
            )
            assert hidden.status_code == absent.status_code == 404, path
            assert hidden.json() == absent.json()
        for method, path in [("get", "/review/{}/"), ("post", "/review/{}/skip/")]:
            assert getattr(client, method)(path.format(decided.pk)).status_code == 404


def test_a_submitted_entry_is_for_the_reviewer_holding_it_until_they_let_go(
    client, alice, bob, dave
):
    entry = submitted(alice)
    client.force_login(dave)
    assert client.get(f"/review/{entry.pk}/").status_code == 404  # not handed to him
    assert services.review_next(reviewer=dave) == entry
    assert client.get(f"/review/{entry.pk}/").status_code == 200
    services.review_skip(entry=entry, reviewer=dave)
    assert client.get(f"/review/{entry.pk}/").status_code == 404
    # Bob takes it, reviews it, and may still read it afterwards.
    assert services.review_next(reviewer=bob) == entry
    services.review_record(entry=entry, reviewer=bob, verdict="approve", rating=5)
    client.force_login(bob)
    assert client.get(f"/review/{entry.pk}/").status_code == 200


def test_a_draft_is_its_authors_alone_moderators_included(client, draft, alice, carol, dave):
    flag = Flag.objects.get(entry=draft, kind=FlagKind.PERSONAL_DATA)
    # The author reads her draft and its flags.
    assert _get(client, alice, f"/api/v1/entries/{draft.pk}/flags/").status_code == 200
    assert "Quality flags" in _get(client, alice, f"/entries/{draft.pk}/").content.decode()
    for other in (carol, dave):
        assert _get(client, other, f"/review/{draft.pk}/").status_code == 404
        assert _get(client, other, f"/api/v1/entries/{draft.pk}/flags/").status_code == 404
    # Not in the moderators' lists, and not theirs to resolve.
    client.force_login(carol)
    listed = client.get("/api/v1/flags/").json()["results"]
    assert flag.pk not in {row["id"] for row in listed}
    moderation = client.get("/moderation/").content.decode()
    assert f'data-flag="{flag.pk}"' not in moderation and "corp.example" not in moderation
    resolve = {"action": "dismiss"}
    api = client.post(f"/api/v1/flags/{flag.pk}/resolve/", resolve, "application/json")
    page = client.post(f"/moderation/flags/{flag.pk}/resolve/", resolve)
    assert api.status_code == page.status_code == 404
    flag.refresh_from_db()
    assert flag.status == "open"


def test_personal_data_is_stored_and_shown_masked(client, decided, alice, bob, carol):
    flag = Flag.objects.get(entry=decided, kind=FlagKind.PERSONAL_DATA)
    assert CARD not in flag.evidence and CARD not in flag.evidence_key
    assert CARD_SHOWN in flag.evidence
    shown = [
        _get(client, alice, f"/entries/{decided.pk}/").content.decode(),
        _get(client, bob, f"/review/{decided.pk}/").content.decode(),
        _get(client, carol, f"/api/v1/entries/{decided.pk}/flags/").content.decode(),
        _get(client, carol, "/api/v1/flags/").content.decode(),
        _get(client, carol, "/moderation/").content.decode(),
    ]
    for body in shown:
        assert CARD_SHOWN in body
    # The review page shows the entry's text itself (the card is in it); the flag does not
    # repeat it: only the masked form is in the flags' section.
    review = shown[1]
    flags_section = review[review.index("Quality flags") :]
    assert CARD not in flags_section[: flags_section.index("</section>")]
    for body in shown[2:]:
        assert CARD not in body


def test_evidence_stored_in_clear_before_the_fix_is_masked_when_shown(
    client, decided, alice, carol
):
    Flag.objects.filter(entry=decided, kind=FlagKind.PERSONAL_DATA).update(
        evidence=f'response: payment card number "{CARD}" and e-mail "{EMAIL}"'
    )
    for body in [
        _get(client, alice, f"/api/v1/entries/{decided.pk}/flags/").content.decode(),
        _get(client, carol, "/moderation/").content.decode(),
    ]:
        assert CARD not in body and "jane.doe" not in body
        assert CARD_SHOWN in body and "•••@corp.example" in body


def test_the_admin_masks_evidence_and_keeps_others_drafts_out(client, decided, draft):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    flag = Flag.objects.get(entry=decided, kind=FlagKind.PERSONAL_DATA)
    Flag.objects.filter(pk=flag.pk).update(evidence=f'response: payment card number "{CARD}"')
    page = client.get(f"/admin/annotation/flag/{flag.pk}/change/").content.decode()
    assert CARD_SHOWN in page and CARD not in page
    entries = client.get("/admin/annotation/entry/").content.decode()
    assert f"/admin/annotation/entry/{decided.pk}/change/" in entries
    assert f"/admin/annotation/entry/{draft.pk}/change/" not in entries
    assert client.get(f"/admin/annotation/entry/{draft.pk}/change/").status_code == 302
    draft_flag = Flag.objects.get(entry=draft, kind=FlagKind.PERSONAL_DATA)
    assert client.get(f"/admin/annotation/flag/{draft_flag.pk}/change/").status_code == 302
    # A decision names its entry by its current instruction: a reopened draft's too, so the
    # decisions of entries back in their author's hands stay out as well.
    draft_decision = Decision.objects.get(entry=draft)
    decisions = client.get("/admin/annotation/decision/").content.decode()
    assert f"/admin/annotation/decision/{draft_decision.pk}/change/" not in decisions
    assert draft.instruction[:40] not in decisions
    decided_decision = Decision.objects.get(entry=decided)
    assert f"/admin/annotation/decision/{decided_decision.pk}/change/" in decisions


def test_masking_stored_flags_for_the_data_migration(decided):
    """flags_mask_personal_data, which a data migration calls: rewrites the evidence and the
    finding key of flags stored in clear, so the next check finds them again (a moderator's
    decision stands), keeps two findings that mask alike apart, and changes nothing twice."""
    flag = Flag.objects.get(entry=decided, kind=FlagKind.PERSONAL_DATA)
    services.flag_resolve(flag=flag, moderator=UserFactory(is_staff=True), action="dismiss")
    other_card = "5500 0000 0000 1111"  # another card ending alike in the same field
    Flag.objects.filter(pk=flag.pk).update(
        evidence=f'response: payment card number "{CARD}"', evidence_key=f"response:card:{CARD}"
    )
    twin = Flag.objects.create(
        entry=decided,
        kind=FlagKind.PERSONAL_DATA,
        evidence=f'response: payment card number "{other_card}"',
        evidence_key=f"response:card:{other_card}",
        blocking=True,
    )
    assert services.flags_mask_personal_data() == 2
    flag.refresh_from_db()
    twin.refresh_from_db()
    assert flag.evidence_key == f"response:card:{CARD_SHOWN}"
    assert flag.evidence == f'response: payment card number "{CARD_SHOWN}"'
    assert twin.evidence_key == f"response:card:{CARD_SHOWN}#{twin.pk}"
    assert services.flags_mask_personal_data() == 0
    # The check finds the dismissed finding under its masked key: no new flag, still dismissed.
    quality.entry_check(entry=decided)
    flag.refresh_from_db()
    assert flag.status == "dismissed"
    assert Flag.objects.filter(entry=decided, kind=FlagKind.PERSONAL_DATA).count() == 2


def test_the_duplicate_warning_names_only_entries_the_writer_may_read(client, alice, bob, carol):
    """While writing, "this looks like #N" never shows another entry's text, and its number only
    when the writer may read that entry."""
    answer = "The Hubble Space Telescope was launched in April 1990 aboard Discovery."
    original = submitted(alice, instruction="When was Hubble launched?", response=answer)
    quality.fingerprint_update(entry=original)
    form = {"entry": "", "instruction": "When was Hubble launched?", "response": answer}
    for writer, named in [(alice, True), (carol, True), (bob, False)]:
        client.force_login(writer)
        page = client.post("/entries/similar/", form, HTTP_HX_REQUEST="true").content.decode()
        assert "100% similar" in page and answer not in page
        assert (f"entry #{original.pk}" in page) is named, writer
        assert ("an entry a colleague wrote" in page) is not named


def test_opening_an_entry_agrees_with_the_rule_for_everyone_in_every_state(
    alice, bob, carol, dave, django_assert_num_queries
):
    """selectors.entry_get_visible answers the cases the entry's row settles (its author, a
    moderator, the reviewer holding it) without the rule's query: every reader in every state
    gets what entries_visible_to says, and the holder costs one query."""
    from annotation.models import GoldReview, Review
    from tests.factories import EntryFactory, handed_to

    entries = []
    for status in EntryStatus.values:
        entries += [
            EntryFactory(author=alice, status=status),  # nobody else's
            handed_to(EntryFactory(author=alice, status=status), bob),  # Bob holds it
            EntryFactory(author=alice, status=status, leased_to=dave),  # Dave holds it
        ]
        reviewed = EntryFactory(author=alice, status=status)
        Review.objects.create(entry=reviewed, reviewer=dave, round=1, verdict="approve", rating=4)
        entries.append(reviewed)
    accepted = EntryFactory(author=alice, status=EntryStatus.ACCEPTED)
    services.gold_mark(entry=accepted, moderator=carol, expected="approve")
    GoldReview.objects.create(gold=accepted.gold, reviewer=bob, handed_at=accepted.submitted_at)
    entries.append(accepted)

    checked = 0
    for viewer in (alice, bob, carol, dave, UserFactory()):
        visible = set(selectors.entries_visible_to(viewer=viewer).values_list("pk", flat=True))
        for entry in entries:
            try:
                selectors.entry_get_visible(viewer=viewer, entry_id=entry.pk)
                opened = True
            except entry.DoesNotExist:
                opened = False
            assert opened == (entry.pk in visible), (viewer.username, entry.status, entry.pk)
            checked += opened
    assert 0 < checked < 5 * len(entries)

    held = next(e for e in entries if e.leased_to == bob and e.status == EntryStatus.SUBMITTED)
    with django_assert_num_queries(1):
        selectors.entry_get_visible(viewer=bob, entry_id=held.pk)
