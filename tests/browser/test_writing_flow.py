import re

import pytest
from playwright.sync_api import expect

from annotation import services
from annotation.models import Entry, EntryStatus
from tests.browser.waiting import wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


PASSAGE = (
    "The Hubble Space Telescope was launched into low Earth orbit in 1990 and remains in "
    "operation. Its main mirror was at first ground incorrectly."
)


def test_a_new_contributor_writes_reloads_and_submits_a_closed_qa_entry(page, sign_in, alice):
    sign_in(alice)

    # The banner sends a newcomer to the contributor agreement before anything else.
    page.get_by_role("link", name="contributor agreement").click()
    expect(page.get_by_text("CC-BY-SA 3.0").first).to_be_visible()
    page.get_by_role("button", name="I accept the contributor agreement").click()
    page.wait_for_url("**/write/")
    expect(page.get_by_text("Thank you. You can now submit entries.")).to_be_visible()

    page.locator("#category-closed_qa").get_by_role("link", name="Write Closed QA").click()
    page.wait_for_url("**/write/closed_qa/")
    expect(page.get_by_role("heading", name="Guidelines")).to_be_visible()

    page.get_by_label("Instruction").fill("When was Hubble launched, and what went wrong at first?")
    page.get_by_label("Reference passage").fill(PASSAGE)
    page.get_by_label("Source URL of the passage").fill(
        "https://en.wikipedia.org/wiki/Hubble_Space_Telescope"
    )
    # The writer pauses after the last keystroke; autosave sends everything typed so far.
    with page.expect_response(
        lambda r: "/entries/autosave/" in r.url and "incorrectly" in (r.request.post_data or "")
    ) as saved:
        page.get_by_label("Response").fill("In 1990; its main mirror had been ground incorrectly.")
    assert saved.value.ok
    expect(page.locator(".counter").first).to_have_text(re.compile(r"^\d+ / 4,000 characters$"))
    expect(page.locator("#save-status")).to_contain_text("saved at")

    # Autosave moved the address to the draft, so a reload finds it intact.
    expect(page).to_have_url(re.compile(r"/entries/\d+/edit/$"))
    wait_for(lambda: Entry.objects.filter(author=alice, response__endswith="incorrectly.").exists())
    page.reload()
    expect(page.get_by_label("Instruction")).to_have_value(
        "When was Hubble launched, and what went wrong at first?"
    )
    expect(page.get_by_label("Reference passage")).to_have_value(PASSAGE)
    expect(page.get_by_label("Response")).to_have_value(
        "In 1990; its main mirror had been ground incorrectly."
    )

    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url("**/entries/?status=submitted&written_in=closed_qa")
    expect(page.get_by_text("is submitted for peer review")).to_be_visible()
    row = page.locator("table.entries tbody tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text("When was Hubble launched")
    expect(row.first).to_contain_text("Submitted")

    entry = Entry.objects.get(author=alice)
    assert entry.status == EntryStatus.SUBMITTED
    assert entry.context == PASSAGE


def test_a_submit_with_the_passage_missing_shows_the_error_and_keeps_the_text(page, sign_in, alice):
    services.agreement_accept(user=alice)
    sign_in(alice)
    page.goto("/write/closed_qa/")
    page.get_by_label("Instruction").fill("What year did Hubble launch?")
    page.get_by_label("Response").fill("1990, as the passage says.")
    page.get_by_role("button", name="Submit for review").click()

    expect(page.locator("#id_context_error")).to_contain_text("needs a reference passage")
    expect(page).to_have_url(re.compile(r"/entries/\d+/edit/$"))  # a reload shows the draft
    expect(page.get_by_label("Instruction")).to_have_value("What year did Hubble launch?")
    expect(page.get_by_label("Response")).to_have_value("1990, as the passage says.")
    entry = Entry.objects.get(author=alice)
    assert entry.status == EntryStatus.DRAFT
    assert entry.response == "1990, as the passage says."

    # Adding the passage and its source fixes it, on the same draft.
    page.get_by_label("Reference passage").fill(PASSAGE)
    page.get_by_label("Source URL of the passage").fill("https://en.wikipedia.org/wiki/Hubble")
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url("**/entries/?status=submitted&written_in=closed_qa")
    assert Entry.objects.get(author=alice).status == EntryStatus.SUBMITTED


def test_typing_then_closing_the_tab_keeps_the_draft(sign_in, page, alice):
    sign_in(alice)
    page.goto("/write/open_qa/")
    page.get_by_label("Instruction").fill("Why do cats purr?")
    page.get_by_label("Response").press_sequentially("Nobody knows for sure", delay=5)
    page.close(run_before_unload=True)

    # The last keystrokes leave in a beacon as the tab closes; give it a moment to land.
    wait_for(lambda: Entry.objects.filter(author=alice, response="Nobody knows for sure").exists())

    reopened = page.context.new_page()
    reopened.goto("/entries/?status=draft")
    expect(reopened.locator("table.entries tbody tr")).to_contain_text("Why do cats purr?")
    reopened.locator("table.entries").get_by_role("link", name="Resume").click()
    expect(reopened.get_by_label("Response")).to_have_value(re.compile("^Nobody knows"))


def test_a_writer_pasting_an_existing_entry_sees_the_similarity_warning(page, sign_in, alice, bob):
    from quality import services as quality_services
    from tests.factories import submitted

    answer = (
        "Sunlight is scattered by the molecules of the air, and blue light, with its short "
        "wavelength, is scattered much more than red, so the whole sky looks blue."
    )
    original = submitted(bob, instruction="Why is the sky blue?", response=answer)
    quality_services.fingerprint_update(entry=original)

    sign_in(alice)
    page.goto("/write/open_qa/")
    page.get_by_label("Instruction").fill("Why is the sky blue?")
    page.get_by_label("Response").fill(answer.replace("looks blue.", "appears blue."))
    warning = page.locator("#similar .similar")
    expect(warning).to_contain_text("This looks like an entry a colleague wrote")
    expect(warning).to_contain_text("% similar")
    page.get_by_label("Response").fill(
        "Because of Rayleigh scattering, which I explain in my own words."
    )
    expect(page.locator("#similar .similar")).to_have_count(0)


def test_a_pasted_passage_loses_its_citation_markers_before_the_writers_eyes(page, sign_in, alice):
    sign_in(alice)
    page.goto("/write/closed_qa/")
    page.get_by_label("Instruction").fill("When was Hubble launched?")
    page.get_by_label("Reference passage").fill(PASSAGE.replace("1990", "1990[1][citation needed]"))
    expect(page.locator("#markers-removed")).to_contain_text("[1], [citation needed]")
    expect(page.get_by_label("Reference passage")).to_have_value(PASSAGE)
    assert Entry.objects.get(author=alice).context == PASSAGE
