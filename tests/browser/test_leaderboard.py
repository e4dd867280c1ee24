import pytest
from playwright.sync_api import expect

from annotation import services as annotation
from tests.browser.conftest import approve_next
from tests.factories import category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_accepted_entry_moves_its_author_up_the_live_board(browser_as, alice, bob, carol, dave):
    for person in (alice, bob):
        annotation.agreement_accept(user=person)
    # Bob leads this week with an accepted entry that Alice and Carol approved.
    bobs = annotation.entry_create(
        author=bob,
        category=category("open_qa"),
        values={"instruction": "What is the capital of Peru?", "response": "Lima."},
    )
    annotation.entry_submit(entry=bobs, actor=bob)
    for reviewer in (alice, carol):
        annotation.review_record(entry=bobs, reviewer=reviewer, verdict="approve", rating=4)
    alices = annotation.entry_create(
        author=alice,
        category=category("closed_qa"),
        values={
            "instruction": "How tall is the tower?",
            "context": "The Eiffel Tower is 330 metres tall.",
            "source_url": "https://en.wikipedia.org/wiki/Eiffel_Tower",
            "response": "330 metres.",
        },
    )
    annotation.entry_submit(entry=alices, actor=alice)

    alice_page = browser_as(alice)
    alice_page.get_by_role("link", name="Leaderboard").click()
    me = alice_page.locator("#board tr.viewer")
    expect(me).to_have_attribute("data-rank", "2")
    expect(me).to_contain_text("2")  # her agreeing review
    expect(alice_page.locator("#board tbody tr").first).to_contain_text("bob")

    # Carol and Dave approve Alice's closed QA entry in their browsers.
    approve_next(browser_as(carol), rating="5")
    approve_next(browser_as(dave), rating="5")

    alice_page.reload()
    expect(me).to_have_attribute("data-rank", "1")
    expect(me).to_contain_text("22")  # 10 × 1.5 + 5 (short category) + 2 (review)
    expect(alice_page.locator("#board tbody tr").first).to_contain_text("alice")

    # Her points page says how each point was earned.
    alice_page.get_by_role("link", name="My points").click()
    expect(alice_page.locator("#points-total")).to_have_text("22")
    expect(alice_page.locator('tr[data-kind="entry_accepted"]')).to_contain_text("Closed QA")
    expect(alice_page.locator('tr[data-kind="review_agreed"]')).to_contain_text("+2")

    # She hides her name from the boards; others now see "anonymous".
    alice_page.get_by_role("link", name="Profile").click()
    alice_page.get_by_label("Show my name on leaderboards").uncheck()
    alice_page.get_by_role("button", name="Save").click()
    expect(alice_page.get_by_text("Profile saved.")).to_be_visible()
    bob_page = browser_as(bob)
    bob_page.get_by_role("link", name="Leaderboard").click()
    expect(bob_page.locator("#board tbody tr").first).to_contain_text("anonymous")
