import re

import pytest
from playwright.sync_api import expect

from annotation import services
from annotation.models import Entry, EntryStatus
from tests.browser.conftest import approve_next
from tests.factories import category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_write_review_reject_revise_and_accept(browser_as, alice, bob, carol, dave, settings):
    # This drive sends an entry back to its author on the first rejection.
    settings.FLOCK_REJECT_REJECTIONS = 1
    services.agreement_accept(user=alice)
    entry = services.entry_create(
        author=alice,
        category=category("open_qa"),
        values={
            "instruction": "At what temperature does water boil?",
            "response": "90 degrees Celsius.",
        },
    )
    services.entry_submit(entry=entry, actor=alice)

    # Bob reviews it and rejects it with a reason and a comment.
    bob_page = browser_as(bob)
    bob_page.get_by_role("link", name="Review", exact=True).click()
    expect(bob_page.locator("#waiting")).to_have_text("1")
    bob_page.get_by_role("button", name="Review next").click()
    expect(bob_page.locator(".entry-text")).to_contain_text("At what temperature does water boil?")
    bob_page.get_by_label("Reject").check()
    bob_page.locator('input[name="rating"][value="2"]').check()
    bob_page.get_by_label("Factual error").check()
    bob_page.get_by_label("Comment for the author").fill("At sea level it boils at 100 °C.")
    bob_page.get_by_role("button", name="Record review").click()
    expect(bob_page.get_by_text("your review of")).to_be_visible()

    # Alice sees the rejection with its reason, revises and resubmits.
    alice_page = browser_as(alice)
    alice_page.get_by_role("link", name="My entries").click()
    alice_page.locator('a[data-status="rejected"]').click()
    alice_page.locator("table.entries").get_by_role("link", name="View").click()
    expect(alice_page.locator(".feedback")).to_contain_text("Rejected")
    expect(alice_page.locator(".feedback")).to_contain_text("Factual error")
    expect(alice_page.locator(".feedback")).to_contain_text("At sea level it boils at 100 °C.")
    alice_page.get_by_role("button", name="Revise and resubmit").click()
    expect(alice_page).to_have_url(re.compile(r"/entries/\d+/edit/$"))
    alice_page.get_by_label("Response").fill("100 degrees Celsius at sea level.")
    alice_page.get_by_role("button", name="Submit for review").click()
    expect(alice_page.get_by_text("is submitted for peer review")).to_be_visible()

    # Carol and Dave approve the revised entry.
    approve_next(browser_as(carol), rating="5")
    approve_next(browser_as(dave), rating="4")

    # Alice finds it accepted, with both rounds' feedback.
    alice_page.goto("/entries/?status=accepted")
    row = alice_page.locator("table.entries tbody tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text("Accepted")
    row.first.get_by_role("link", name="View", exact=True).click()
    expect(alice_page.locator("#round-2")).to_contain_text("Accepted")
    expect(alice_page.locator("#round-2")).to_contain_text("2 approvals")
    expect(alice_page.locator("#round-1")).to_contain_text("Factual error")

    entry.refresh_from_db()
    assert (entry.status, entry.review_round) == (EntryStatus.ACCEPTED, 2)
    assert entry.response == "100 degrees Celsius at sea level."
    assert Entry.objects.count() == 1
