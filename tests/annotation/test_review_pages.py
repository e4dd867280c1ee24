import re

import pytest

from annotation import services
from annotation.models import EntryStatus, Review
from tests.factories import EntryFactory, category, handed_to, submitted

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


def test_a_review_from_the_page_with_a_typo_fix(bob_client, alice, bob):
    entry = handed_to(submitted(alice, response="Red, yelow and blue."), bob)
    services.agreement_accept(user=bob)
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


def test_without_the_agreement_the_page_offers_no_fix_and_refuses_one_keeping_the_review(
    bob_client, alice, bob
):
    """Audit finding 1, on the page: a reviewer without the agreement is told why they cannot
    fix; a fix posted anyway is refused with that reason and what they wrote stays on the page."""
    entry = handed_to(submitted(alice, response="Red, yelow and blue."), bob)
    page = bob_client.get(f"/review/{entry.pk}/").content.decode()
    assert "needs the contributor" in page and 'name="response"' not in page

    response = bob_client.post(
        f"/review/{entry.pk}/",
        {"verdict": "approve", "rating": "5", "comment": "My note.", "response": "Red, yellow."},
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "Accept the contributor agreement before fixing" in page
    assert "My note.</textarea>" in page
    assert not Review.objects.exists()

    services.agreement_accept(user=bob)
    page = bob_client.get(f"/review/{entry.pk}/").content.decode()
    assert "needs the contributor" not in page and 'name="response"' in page


def test_unchanged_text_in_the_form_is_not_a_fix(bob_client, alice, bob):
    entry = handed_to(submitted(alice, response="Line one\nline two"), bob)
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


def test_a_rejection_without_a_reason_is_shown_again_with_the_comment_kept(bob_client, alice, bob):
    entry = handed_to(submitted(alice), bob)
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
    services.agreement_accept(user=bob)  # a fix needs the agreement
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
    assert ">r2</a> by a reviewer" in page


def test_profile_shows_review_agreement(client, alice, bob, carol):
    entry = submitted(alice)
    services.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    services.review_record(entry=entry, reviewer=carol, verdict="approve", rating=4)
    client.force_login(bob)
    page = client.get("/accounts/profile/").content.decode()
    assert "<strong>1 of 1</strong>" in page and "(100%)" in page


def _written(author, response):
    """An entry written and submitted through the services, so it has its first revision."""
    services.agreement_accept(user=author)
    entry = services.entry_create(
        author=author,
        category=category("open_qa"),
        values={"instruction": "Name the primary colours.", "response": response},
    )
    return services.entry_submit(entry=entry, actor=author)


def _seen_revision(page: str) -> str:
    return re.search(r'name="seen_revision" value="(\d+)"', page).group(1)


def _dave_approves_after_bobs_fix(client, alice, bob, dave, *, dave_typed: str):
    """Dave opens the review page; Bob fixes a typo meanwhile; then Dave's form arrives."""
    entry = handed_to(_written(alice, "Red, yelow and blue."), dave)
    services.agreement_accept(user=dave)  # a fix needs the agreement
    client.force_login(dave)
    seen = _seen_revision(client.get(f"/review/{entry.pk}/").content.decode())
    services.agreement_accept(user=bob)  # a fix needs the agreement
    services.review_record(
        entry=entry,
        reviewer=bob,
        verdict="approve",
        rating=4,
        fix_values={"response": "Red, yellow and blue."},
    )
    form = {
        "verdict": "approve",
        "rating": "5",
        "seen_revision": seen,
        "instruction": entry.instruction,
        "response": dave_typed,
    }
    return entry, client.post(f"/review/{entry.pk}/", form)


def test_a_stale_form_never_undoes_another_reviewers_fix(client, alice, bob, dave):
    # Dave did not touch the text he was shown: no fix, and Bob's stays.
    entry, response = _dave_approves_after_bobs_fix(
        client, alice, bob, dave, dave_typed="Red, yelow and blue."
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.response == "Red, yellow and blue."
    assert Review.objects.get(entry=entry, reviewer=dave).fix is None


def test_a_fix_on_a_text_that_changed_meanwhile_is_refused_and_kept(client, alice, bob, dave):
    entry, response = _dave_approves_after_bobs_fix(
        client, alice, bob, dave, dave_typed="Red, yelow, and blue!"
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Another reviewer changed this entry" in page
    assert "Red, yelow, and blue!</textarea>" in page
    assert not Review.objects.filter(reviewer=dave).exists()
    entry.refresh_from_db()
    assert entry.response == "Red, yellow and blue."


def test_a_review_arriving_after_the_decision_keeps_the_reviewers_text(
    client, alice, bob, carol, dave
):
    entry = handed_to(submitted(alice), dave)  # dave holds it as it is decided
    for reviewer in (bob, carol):
        services.review_record(entry=entry, reviewer=reviewer, verdict="approve", rating=4)
    client.force_login(dave)
    response = client.post(
        f"/review/{entry.pk}/",
        {"verdict": "reject", "rating": "2", "reasons": ["other"], "comment": "Too late, sadly."},
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "not under review (it is accepted)" in page and "Too late, sadly.</textarea>" in page


def test_a_fix_whose_error_has_no_field_on_the_form_is_shown_not_a_crash(
    client, alice, bob, settings
):
    entry = submitted(
        alice,
        category=category("closed_qa"),
        context="A passage.",
        source_url="https://en.wikipedia.org/wiki/X",
    )
    settings.FLOCK_ALLOWED_SOURCE_DOMAINS = ["intranet.example.com"]
    services.agreement_accept(user=bob)
    handed_to(entry, bob)
    client.force_login(bob)
    response = client.post(
        f"/review/{entry.pk}/",
        {
            "verdict": "approve",
            "rating": "4",
            "instruction": entry.instruction,
            "context": entry.context,
            "response": entry.response + " Indeed.",
        },
    )
    assert response.status_code == 400
    assert "allowed source" in response.content.decode()


def test_moderators_see_the_votes_and_cannot_decide_their_own_entries(client, carol, alice, bob):
    entry = submitted(alice)
    services.review_record(
        entry=entry,
        reviewer=bob,
        verdict="reject",
        rating=2,
        reasons=["factual_error"],
        comment="Check the date.",
    )
    client.force_login(carol)
    page = client.get(f"/review/{entry.pk}/").content.decode()
    assert "Votes in this round" in page and "Check the date." in page and "bob" in page

    own = submitted(carol)
    response = client.post(f"/review/{own.pk}/decide/", {"verdict": "approve", "reason": "Mine."})
    assert response.status_code == 403
    assert "do not decide their own" in response.content.decode()
    own.refresh_from_db()
    assert own.status == EntryStatus.SUBMITTED


def test_a_failed_decision_keeps_the_typed_reason(client, carol, alice):
    entry = submitted(alice)
    client.force_login(carol)
    response = client.post(f"/review/{entry.pk}/decide/", {"verdict": "", "reason": "Half done"})
    assert response.status_code == 400
    assert "Half done</textarea>" in response.content.decode()


def test_the_author_sees_a_fix_only_once_the_round_is_decided(client, alice, bob, carol):
    entry = submitted(alice, response="Red, yelow and blue.")
    services.agreement_accept(user=bob)  # a fix needs the agreement
    services.review_record(
        entry=entry,
        reviewer=bob,
        verdict="approve",
        rating=4,
        fix_values={"response": "Red, yellow and blue."},
    )
    client.force_login(alice)
    page = client.get(f"/entries/{entry.pk}/").content.decode()
    assert "by a reviewer" not in page and "yelow" in page and "yellow" not in page
    services.review_record(entry=entry, reviewer=carol, verdict="approve", rating=4)
    page = client.get(f"/entries/{entry.pk}/").content.decode()
    assert ">r2</a> by a reviewer" in page and "Red, yellow and blue." in page


def test_the_chosen_category_is_kept_for_skips(bob_client, alice):
    first = submitted(alice, category=category("brainstorming"))
    submitted(alice)  # open_qa: not wanted
    second = submitted(alice, category=category("brainstorming"))
    assert bob_client.post("/review/next/", {"category": "brainstorming"})["Location"] == (
        f"/review/{first.pk}/"
    )
    response = bob_client.post(f"/review/{first.pk}/skip/")
    assert response["Location"] == f"/review/{second.pk}/"
    assert 'value="brainstorming" selected' in bob_client.get("/review/").content.decode()
