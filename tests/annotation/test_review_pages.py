import pytest

from annotation import services
from annotation.models import EntryStatus, Review
from tests.factories import EntryFactory, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


def test_review_pages_need_sign_in(client, alice):
    entry = submitted(alice)
    for url in ["/review/", f"/review/{entry.pk}/", "/moderation/"]:
        assert client.get(url)["Location"].startswith("/accounts/sign-in/")
    assert client.post("/review/next/").status_code == 302
    assert not Review.objects.exists()


def test_review_next_leads_to_the_entry_and_says_when_nothing_is_left(bob_client, alice):
    response = bob_client.post("/review/next/", follow=True)
    assert b"Nothing is waiting for your review" in response.content
    assert b"Write an entry" in response.content

    entry = submitted(alice, context="", instruction="Name three primary colours.")
    response = bob_client.post("/review/next/")
    assert response["Location"] == f"/review/{entry.pk}/"
    page = bob_client.get(response["Location"]).content.decode()
    assert "Name three primary colours." in page
    assert "guidelines" in page and "Record review" in page


def test_a_review_from_the_page_with_a_typo_fix(bob_client, alice):
    entry = submitted(alice, response="Red, yelow and blue.")
    response = bob_client.post(
        f"/review/{entry.pk}/",
        {
            "verdict": "approve",
            "rating": "5",
            "comment": "Nice.",
            "instruction": entry.instruction,
            "response": "Red, yellow and blue.",
        },
    )
    assert response.status_code == 302
    review = Review.objects.get(entry=entry)
    assert review.fix is not None
    entry.refresh_from_db()
    assert entry.response == "Red, yellow and blue."


def test_unchanged_text_in_the_form_is_not_a_fix(bob_client, alice):
    entry = submitted(alice, response="Line one\nline two")
    bob_client.post(
        f"/review/{entry.pk}/",
        {
            "verdict": "approve",
            "rating": "4",
            "instruction": entry.instruction,
            "response": "Line one\r\nline two",  # browsers send CRLF
        },
    )
    assert Review.objects.get(entry=entry).fix is None


def test_a_rejection_without_a_reason_is_shown_again_with_the_comment_kept(bob_client, alice):
    entry = submitted(alice)
    response = bob_client.post(
        f"/review/{entry.pk}/",
        {"verdict": "reject", "rating": "2", "comment": "Please check the facts."},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Give at least one reason" in page
    assert "Please check the facts.</textarea>" in page
    assert not Review.objects.exists()


def test_the_author_is_sent_to_their_own_page(client, alice):
    entry = submitted(alice)
    client.force_login(alice)
    response = client.get(f"/review/{entry.pk}/")
    assert response["Location"] == f"/entries/{entry.pk}/"
    client.post(f"/review/{entry.pk}/", {"verdict": "approve", "rating": "5"})
    assert not Review.objects.exists()


def test_drafts_are_not_reviewable_pages(bob_client, alice):
    draft = EntryFactory(author=alice, instruction="Secret draft")
    response = bob_client.get(f"/review/{draft.pk}/")
    assert response.status_code == 404
    assert b"Secret draft" not in response.content


def test_a_second_review_is_a_message_not_an_error(bob_client, alice, bob):
    entry = submitted(alice)
    services.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    page = bob_client.get(f"/review/{entry.pk}/").content.decode()
    assert "You reviewed this entry" in page and "Record review" not in page
    response = bob_client.post(
        f"/review/{entry.pk}/", {"verdict": "approve", "rating": "4"}, follow=True
    )
    assert b"already reviewed" in response.content
    assert Review.objects.filter(entry=entry).count() == 1


def test_skip_from_the_page_moves_to_the_next(bob_client, alice):
    first, second = submitted(alice), submitted(alice)
    bob_client.post("/review/next/")
    response = bob_client.post(f"/review/{first.pk}/skip/")
    assert response["Location"] == f"/review/{second.pk}/"


def test_moderation_is_for_staff_only(bob_client, client, carol, alice, bob, dave):
    assert bob_client.get("/moderation/").status_code == 403
    entry = submitted(alice)
    response = bob_client.post(
        f"/review/{entry.pk}/decide/", {"verdict": "approve", "reason": "mine"}
    )
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED

    # A split vote (bob approves, dave rejects) shows up for the moderator.
    services.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    services.review_record(
        entry=entry, reviewer=dave, verdict="reject", rating=2, reasons=["factual_error"]
    )
    client.force_login(carol)
    page = client.get("/moderation/").content.decode()
    split_section = page.split('id="split"')[1].split('id="stale"')[0]
    assert f'data-entry="{entry.pk}"' in split_section
    response = client.post(
        f"/review/{entry.pk}/decide/", {"verdict": "approve", "reason": "Facts check out."}
    )
    assert response["Location"] == "/moderation/"
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED


def test_the_author_sees_the_outcome_reasons_comments_and_the_fix(client, alice, bob, carol):
    entry = submitted(alice, response="100 degres.")
    services.review_record(
        entry=entry,
        reviewer=bob,
        verdict="approve",
        rating=4,
        fix_values={"response": "100 degrees."},
        comment="Fixed a typo.",
    )
    services.review_record(entry=entry, reviewer=carol, verdict="approve", rating=5)
    client.force_login(alice)
    page = client.get(f"/entries/{entry.pk}/").content.decode()
    assert "status-accepted" in page and "2 approvals" in page
    assert "Fixed a typo." in page and "quality 4/5" in page
    assert "<del>degres.</del>" in page and "<ins>degrees.</ins>" in page
    assert "bob" not in page  # reviewers are not named
    assert "r2 by a reviewer" in page


def test_profile_shows_review_agreement(client, alice, bob, carol):
    entry = submitted(alice)
    services.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    services.review_record(entry=entry, reviewer=carol, verdict="approve", rating=4)
    client.force_login(bob)
    page = client.get("/accounts/profile/").content.decode()
    assert "<strong>1 of 1</strong>" in page and "(100%)" in page
