"""The moderation workbench in a browser (issue 14): Carol finds an accepted entry by its text
and overturns it in bulk with a reason; "All on this page" ticks every row (its script obeys
the CSP, which these tests enforce)."""

import pytest
from playwright.sync_api import expect

from annotation import services as annotation
from annotation.models import EntryStatus, Flag, Overturn
from tests.factories import submitted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_moderator_finds_an_entry_by_text_and_overturns_it(browser_as, alice, bob, carol, dave):
    entry = submitted(alice, instruction="Why does the aurora borealis glow green?")
    submitted(alice, instruction="Name three primary colours.")
    annotation.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    annotation.review_record(entry=entry, reviewer=dave, verdict="approve", rating=5)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED

    page = browser_as(carol)
    page.get_by_role("link", name="Workbench", exact=True).click()
    page.get_by_label("Text", exact=True).fill("AURORA")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#matching")).to_have_text("1 entry matches")
    row = page.locator(f'tr[data-entry="{entry.pk}"]')
    expect(row).to_contain_text("Accepted")

    bulk = page.locator("#bulk")
    row.get_by_label(f"Select #{entry.pk}").check()
    bulk.get_by_label("With the selected entries").select_option("reject")
    bulk.get_by_role("button", name="Apply to the selected").click()  # no reason yet
    expect(bulk.get_by_text("Give a reason: the authors read it.")).to_be_visible()
    expect(row.get_by_label(f"Select #{entry.pk}")).to_be_checked()  # the selection stays
    bulk.get_by_label("Reason or note").fill("The answer is copied from an encyclopedia.")
    bulk.get_by_role("button", name="Apply to the selected").click()

    expect(page.get_by_text("1 done.")).to_be_visible()
    expect(page.get_by_label("Text", exact=True)).to_have_value(
        "AURORA"
    )  # back on the same filtered page
    expect(page.locator(f'tr[data-entry="{entry.pk}"]')).to_contain_text("Rejected")
    entry.refresh_from_db()
    overturn = Overturn.objects.get(decision__entry=entry)
    assert entry.status == EntryStatus.REJECTED
    assert (overturn.verdict, overturn.moderator) == ("reject", carol)
    assert overturn.reason == "The answer is copied from an encyclopedia."


def test_all_on_this_page_ticks_every_row(browser_as, alice, carol):
    entries = [submitted(alice) for _ in range(3)]
    page = browser_as(carol)
    page.goto("/moderation/entries/")
    boxes = page.locator('input[name="entries"]')
    expect(boxes).to_have_count(3)
    select_all = page.get_by_label("All on this page")
    select_all.check()
    for n in range(3):
        expect(boxes.nth(n)).to_be_checked()
    page.get_by_label(f"Select #{entries[0].pk}").uncheck()
    assert select_all.evaluate("box => box.indeterminate")

    bulk = page.locator("#bulk")
    bulk.get_by_label("With the selected entries").select_option("raise_flag")
    bulk.get_by_label("Flag kind").select_option("moderator")
    bulk.get_by_label("Reason or note").fill("The same answer, reworded.")
    bulk.get_by_role("button", name="Apply to the selected").click()
    expect(page.get_by_text("2 done.")).to_be_visible()
    flagged = set(Flag.objects.values_list("entry_id", flat=True))
    assert flagged == {entries[1].pk, entries[2].pk}
