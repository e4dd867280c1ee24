"""Issue 13's "done when", in one go: a contributor on a 390 px phone signs in, accepts the
agreement, writes and submits an entry, reviews a colleague's with the keyboard and signs out,
and no page on the way scrolls sideways."""

import re

import pytest
from playwright.sync_api import expect

from annotation.models import Entry, EntryStatus, Review
from tests.browser.layout import assert_no_sideways_scroll
from tests.factories import submitted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 390, "height": 844}


def menu(page, name: str, role: str = "link"):
    """Open the folded menu and use one of its items."""
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_be_visible()  # folded at this width
    toggle.click()
    page.get_by_role(role, name=name).click()


def test_a_contributor_on_a_phone_writes_submits_reviews_by_keyboard_and_signs_out(
    page, alice, bob, password
):
    colleagues = submitted(alice, instruction="Name three rivers of Europe.")
    page.set_viewport_size(PHONE)

    page.goto("/accounts/sign-in/")
    assert_no_sideways_scroll(page, "the sign-in page")
    page.get_by_label("Username").fill(bob.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/write/")
    assert_no_sideways_scroll(page, "the categories")

    page.get_by_role("link", name="contributor agreement").click()
    page.wait_for_url(re.compile(r"/agreement/"))
    assert_no_sideways_scroll(page, "the agreement")
    page.get_by_role("button", name="I accept the contributor agreement").click()
    page.wait_for_url("**/write/")

    page.locator("#category-open_qa").get_by_role("link", name="Write Open QA").click()
    page.wait_for_url(re.compile(r"/write/open_qa/"))
    assert_no_sideways_scroll(page, "the writing form")
    page.get_by_label("Instruction").fill("Why is the sky blue on a clear day?")
    page.get_by_label("Response").fill(
        "Air scatters the short blue wavelengths of sunlight far more than the red ones."
    )
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url(re.compile(r"/entries/\?status=submitted"))
    assert_no_sideways_scroll(page, "My entries after the submit")
    mine = Entry.objects.get(author=bob)
    assert mine.status == EntryStatus.SUBMITTED

    menu(page, "Review")
    page.wait_for_url("**/review/")
    assert_no_sideways_scroll(page, "the review queue")
    page.get_by_role("button", name="Review next").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/review/{colleagues.pk}/$"))
    assert_no_sideways_scroll(page, "the review page")
    # The shortcuts are listed once their script has run.
    expect(page.get_by_role("complementary", name="Keyboard shortcuts")).to_be_visible()
    assert_no_sideways_scroll(page, "the review page with its shortcuts")
    page.keyboard.press("a")
    page.keyboard.press("5")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Nothing is waiting for your review")).to_be_visible()
    review = Review.objects.get(reviewer=bob)
    assert (review.entry_id, review.verdict, review.rating) == (colleagues.pk, "approve", 5)

    menu(page, "Sign out", role="button")
    page.wait_for_url("**/accounts/sign-in/**")
    assert_no_sideways_scroll(page, "the sign-in page after signing out")
    page.goto("/entries/")
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/"))
