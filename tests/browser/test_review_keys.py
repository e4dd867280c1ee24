"""The review loop by keyboard alone: shortcuts for verdict, rating, reasons, skip and record, and
none of them while typing a comment."""

import re

import pytest
from playwright.sync_api import expect

from annotation.models import Review, ReviewSkip
from tests.factories import submitted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_review_by_keyboard_alone(browser_as, alice, bob):
    first = submitted(alice, instruction="Name three primary colours.")
    second = submitted(alice, instruction="Who wrote Hamlet?")
    third = submitted(alice, instruction="What is the capital of Peru?")

    page = browser_as(bob)
    page.goto("/review/")
    page.get_by_role("button", name="Review next").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/review/{first.pk}/$"))
    expect(page.get_by_role("complementary", name="Keyboard shortcuts")).to_be_visible()

    # Approve, rate 4, record: the next entry opens.
    page.keyboard.press("a")
    page.keyboard.press("4")
    expect(page.get_by_label("Approve")).to_be_checked()
    expect(page.locator('input[name="rating"][value="4"]')).to_be_checked()
    page.keyboard.press("Control+Enter")
    expect(page).to_have_url(re.compile(rf"/review/{second.pk}/$"))
    expect(page.get_by_role("complementary", name="Keyboard shortcuts")).to_be_visible()
    expect(page.get_by_text(f"your review of #{first.pk} is recorded")).to_be_visible()

    # Typing in the comment box types, whatever the letters; Esc leaves the box.
    comment = page.get_by_label("Comment for the author")
    comment.focus()
    page.keyboard.type("a4 is not the answer; rf2")
    expect(comment).to_have_value("a4 is not the answer; rf2")
    expect(page.locator('input[name="verdict"]:checked')).to_have_count(0)
    expect(page.locator('input[name="rating"]:checked')).to_have_count(0)
    expect(page.locator('input[name="reasons"]:checked')).to_have_count(0)
    page.keyboard.press("Escape")

    # Reject, tick "Factual error" with its key, rate 2, record.
    page.keyboard.press("r")
    page.keyboard.press("f")
    page.keyboard.press("2")
    expect(page.get_by_label("Reject")).to_be_checked()
    expect(page.get_by_label("Factual error")).to_be_checked()
    page.keyboard.press("Control+Enter")
    expect(page).to_have_url(re.compile(rf"/review/{third.pk}/$"))
    expect(page.get_by_role("complementary", name="Keyboard shortcuts")).to_be_visible()

    # Skip the last one: nothing is left, and /review/ says so.
    page.keyboard.press("s")
    expect(page).to_have_url(re.compile(r"/review/$"))
    expect(page.get_by_text("Nothing is waiting for your review")).to_be_visible()

    reviews = {r.entry_id: r for r in Review.objects.filter(reviewer=bob)}
    assert (reviews[first.pk].verdict, reviews[first.pk].rating) == ("approve", 4)
    assert (reviews[second.pk].verdict, reviews[second.pk].rating) == ("reject", 2)
    assert reviews[second.pk].reasons == ["factual_error"]
    assert reviews[second.pk].comment == "a4 is not the answer; rf2"
    assert third.pk not in reviews
    assert ReviewSkip.objects.filter(entry=third, reviewer=bob).exists()


def test_the_rating_is_one_row_that_arrow_keys_move_along(browser_as, alice, bob):
    submitted(alice)
    page = browser_as(bob)
    page.goto("/review/")
    page.get_by_role("button", name="Review next").click()
    expect(page).to_have_url(re.compile(r"/review/\d+/$"))
    # The shortcuts' legend appears once the script has run, moving the form down: measure after
    # it, all five at one moment.
    expect(page.get_by_role("complementary", name="Keyboard shortcuts")).to_be_visible()
    boxes = page.evaluate(
        """() => [1, 2, 3, 4, 5].map((n) => {
            const box = document.querySelector(`input[name="rating"][value="${n}"] + span`)
                .getBoundingClientRect();
            return {x: box.x, y: box.y};
        })"""
    )
    assert len({round(box["y"]) for box in boxes}) == 1
    assert [box["x"] for box in boxes] == sorted(box["x"] for box in boxes)

    page.keyboard.press("3")
    page.keyboard.press("ArrowRight")
    expect(page.locator('input[name="rating"][value="4"]')).to_be_checked()
    expect(page.locator('input[name="rating"][value="4"]')).to_be_focused()
    # Enter alone on a choice does not send a half-made review.
    posts = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    assert posts == []
    expect(page.locator(".error")).to_have_count(0)


def test_skipping_by_key_asks_before_losing_a_typed_comment(browser_as, alice, bob):
    first = submitted(alice, instruction="Name a prime number.")
    page = browser_as(bob)
    page.goto("/review/")
    page.get_by_role("button", name="Review next").click()
    expect(page).to_have_url(re.compile(rf"/review/{first.pk}/$"))
    expect(page.get_by_role("complementary", name="Keyboard shortcuts")).to_be_visible()
    comment = page.get_by_label("Comment for the author")
    comment.fill("Seven is prime, but say why.")
    page.keyboard.press("Escape")

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.keyboard.press("s")
    page.wait_for_timeout(300)
    assert asked == ["Skip this entry and lose what you typed in the review?"]
    expect(page).to_have_url(re.compile(rf"/review/{first.pk}/$"))
    expect(comment).to_have_value("Seven is prime, but say why.")
    assert not ReviewSkip.objects.exists()

    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("s")
    expect(page).to_have_url(re.compile(r"/review/$"))
    assert ReviewSkip.objects.filter(reviewer=bob, entry=first).exists()
