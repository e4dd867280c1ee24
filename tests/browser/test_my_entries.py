"""My entries in a browser: delete and withdraw ask first; opening a category offers its drafts."""

import re

import pytest
from playwright.sync_api import expect

from annotation.models import Entry, EntryStatus
from tests.browser.waiting import wait_for
from tests.factories import EntryFactory, category

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_delete_and_withdraw_ask_before_acting(page, sign_in, alice):
    draft = EntryFactory(author=alice, instruction="A draft I may regret deleting")
    entry = EntryFactory(
        author=alice, status=EntryStatus.SUBMITTED, instruction="An entry under review"
    )
    sign_in(alice)

    # Delete draft → the question; "Keep it" goes back and nothing is lost.
    page.goto(f"/entries/{draft.pk}/")
    page.get_by_role("link", name="Delete draft").click()
    expect(page.get_by_role("heading", name="Delete this draft?")).to_be_visible()
    expect(page.get_by_text("A draft I may regret deleting")).to_be_visible()
    page.get_by_role("link", name="Keep it").click()
    expect(page).to_have_url(re.compile(rf"/entries/{draft.pk}/$"))
    assert Entry.objects.filter(pk=draft.pk).exists()

    # Asked again and confirmed: the draft is gone.
    page.get_by_role("link", name="Delete draft").click()
    page.get_by_role("button", name="Delete draft").click()
    expect(page).to_have_url(re.compile(r"/entries/$"))
    expect(page.get_by_text("Draft deleted.")).to_be_visible()
    assert not Entry.objects.filter(pk=draft.pk).exists()

    # Withdraw asks too.
    page.goto(f"/entries/{entry.pk}/")
    page.get_by_role("link", name="Withdraw from review").click()
    expect(page.get_by_role("heading", name="Withdraw this entry from review?")).to_be_visible()
    page.get_by_role("link", name="Keep it in review").click()
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED
    page.get_by_role("link", name="Withdraw from review").click()
    page.get_by_role("button", name="Withdraw from review").click()
    expect(page.get_by_text("Entry withdrawn from review.")).to_be_visible()
    entry.refresh_from_db()
    assert entry.status == EntryStatus.WITHDRAWN


def test_opening_a_category_offers_the_unfinished_drafts(page, sign_in, alice):
    draft = EntryFactory(
        author=alice,
        category=category("open_qa"),
        instruction="Why do owls hoot at night?",
        response="To keep their territory",
    )
    sign_in(alice)

    page.locator("#category-open_qa").get_by_role("link", name=re.compile("Write")).click()
    expect(
        page.get_by_role("heading", name="You have 1 unfinished draft in Open QA")
    ).to_be_visible()
    assert Entry.objects.filter(author=alice).count() == 1

    # Resume: the draft's own page, with its text.
    page.get_by_role("link", name=f"Resume #{draft.pk}").click()
    expect(page).to_have_url(re.compile(rf"/entries/{draft.pk}/edit/$"))
    expect(page.get_by_label("Instruction")).to_have_value("Why do owls hoot at night?")

    # Start a new one: an empty form whose first save is a new draft.
    page.goto("/write/open_qa/")
    page.get_by_role("link", name="Start a new one").click()
    # Typed once the form's scripts run (the autosave listens from then), not while it parses.
    page.wait_for_url(re.compile(r"/write/open_qa/\?new=1$"))
    expect(page.get_by_label("Instruction")).to_have_value("")
    page.get_by_label("Instruction").fill("Why do cats purr?")
    expect(page).to_have_url(re.compile(r"/entries/\d+/edit/$"))
    wait_for(lambda: Entry.objects.filter(author=alice, instruction="Why do cats purr?").exists())
    assert Entry.objects.filter(author=alice, status=EntryStatus.DRAFT).count() == 2
    draft.refresh_from_db()
    assert draft.instruction == "Why do owls hoot at night?"
