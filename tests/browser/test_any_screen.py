"""Flock on a phone (390 px) and a laptop (1280 px): no page scrolls sideways, the menu folds
behind a button that works by keyboard (and wraps without JavaScript), tables become stacked rows,
a 3,000-character word wraps, and right-to-left text shows right to left."""

import pytest
from playwright.sync_api import expect

from tests.browser.layout import assert_no_sideways_scroll
from tests.browser.main_pages import main_pages
from tests.factories import EntryFactory, handed_to, submitted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
LONG_WORD = "Donaudampfschifffahrt" * 143  # 3,003 characters, no break opportunity


def open_menu(page):
    """At phone width the menu is folded behind its button; open it (a no-op when wide)."""
    toggle = page.get_by_role("button", name="Menu")
    if toggle.is_visible():
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
@pytest.mark.parametrize("persona", ["contributor", "moderator"])
def test_no_main_page_scrolls_sideways_and_sign_out_is_reachable(
    browser_as, page, alice, bob, carol, persona, viewport
):
    pages = main_pages(contributor=alice, moderator=carol, other=bob)[persona]
    page.set_viewport_size(viewport)
    page.goto("/accounts/sign-in/")
    assert_no_sideways_scroll(page, "the sign-in page")

    signed_in = browser_as(alice if persona == "contributor" else carol)
    signed_in.set_viewport_size(viewport)
    for name, url in pages.items():
        signed_in.goto(url)
        assert_no_sideways_scroll(signed_in, f"{name} ({url})")
        open_menu(signed_in)
        expect(signed_in.get_by_role("button", name="Sign out")).to_be_visible()
        expect(signed_in.get_by_role("link", name="My entries")).to_be_visible()
        assert_no_sideways_scroll(signed_in, f"{name} ({url}) with the menu open")
    if viewport == PHONE:
        # The leaderboard's and profile's tables are stacked rows, each cell labelled.
        signed_in.goto(pages["profile"])
        signed_in.get_by_label("Name", exact=True).fill("nightly download")
        signed_in.get_by_role("button", name="Create token").click()
        cell = signed_in.locator("#token-list td[data-label=Name]").first
        expect(cell).to_be_visible()
        assert cell.evaluate("td => getComputedStyle(td).display") == "block"
        label = cell.evaluate("td => getComputedStyle(td, '::before').content")
        assert label == '"Name: "'
        assert_no_sideways_scroll(signed_in, "the profile with a token")

    open_menu(signed_in)
    signed_in.get_by_role("button", name="Sign out").click()
    expect(signed_in).to_have_url("/accounts/sign-in/")


def test_the_phone_menu_works_with_the_keyboard(browser_as, alice):
    page = browser_as(alice)
    page.set_viewport_size(PHONE)
    page.goto("/entries/")
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_be_visible()
    expect(page.get_by_role("link", name="Leaderboard")).to_be_hidden()

    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # Flock
    page.keyboard.press("Tab")
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Write", exact=True)).to_be_focused()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(page.get_by_role("link", name="Leaderboard")).to_be_hidden()

    page.keyboard.press("Space")
    page.get_by_role("link", name="Leaderboard").click()
    expect(page).to_have_url("/leaderboard/")

    # Wide again, the button goes and the menu is there.
    page.set_viewport_size(LAPTOP)
    expect(toggle).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_without_javascript_the_menu_wraps_and_stays_reachable(
    browser, live_server, carol, password
):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto("/accounts/sign-in/")
        page.get_by_label("Username").fill(carol.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/write/")
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        for name in ("Write", "My entries", "Moderation", "Contests", "Admin", "API"):
            expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        assert_no_sideways_scroll(page, "the write page without JavaScript")
    finally:
        context.close()


def test_a_3000_character_word_does_not_widen_the_page(browser_as, alice, bob):
    entry = handed_to(
        submitted(alice, instruction=f"Explain {LONG_WORD}.", response=f"It is {LONG_WORD}."),
        bob,
    )
    for user, url in ((alice, f"/entries/{entry.pk}/"), (bob, f"/review/{entry.pk}/")):
        page = browser_as(user)
        for viewport in (PHONE, LAPTOP):
            page.set_viewport_size(viewport)
            page.goto(url)
            expect(page.get_by_text("Donaudampfschifffahrt").first).to_be_visible()
            assert_no_sideways_scroll(page, f"{url} at {viewport['width']} px")


def test_arabic_text_shows_right_to_left(browser_as, alice, bob):
    entry = submitted(alice, instruction="ما هي عاصمة فرنسا؟", response="Paris.")
    handed_to(entry, bob)
    page = browser_as(alice)
    page.goto(f"/entries/{entry.pk}/")
    shown = page.locator(".entry-text dd")
    expect(shown.first).to_have_text("ما هي عاصمة فرنسا؟")
    assert shown.first.evaluate("dd => dd.matches(':dir(rtl)')")
    assert shown.last.evaluate("dd => dd.matches(':dir(ltr)')")  # the English response

    # Where people write, the field follows what they type.
    draft = EntryFactory(author=alice)
    page.goto(f"/entries/{draft.pk}/edit/")
    field = page.get_by_label("Instruction")
    field.fill("اكتب قصيدة قصيرة عن البحر")
    assert field.evaluate("f => f.matches(':dir(rtl)')")
    field.fill("Write a short poem about the sea")
    assert field.evaluate("f => f.matches(':dir(ltr)')")

    reviewer = browser_as(bob)
    reviewer.goto(f"/review/{entry.pk}/")
    assert reviewer.locator(".entry-text dd").first.evaluate("dd => dd.matches(':dir(rtl)')")
    comment = reviewer.get_by_label("Comment for the author")
    comment.fill("شكرا")
    assert comment.evaluate("f => f.matches(':dir(rtl)')")
