import datetime
import re

import pytest
from playwright.sync_api import expect

from annotation import services as annotation
from annotation.models import EntryStatus, Flag, FlagStatus
from leaderboard.models import Contest
from quality import services as quality_services
from tests.factories import category
from tests.when import datetime_local, days_ahead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_moderator_dismisses_a_flag_and_decides_a_split_vote(browser_as, alice, bob, carol, dave):
    annotation.agreement_accept(user=alice)
    entry = annotation.entry_create(
        author=alice,
        category=category("open_qa"),
        values={
            "instruction": "What does the support line 0800 123 4567 do?",
            "response": "It is the company's public helpline, printed on every invoice.",
        },
    )
    annotation.entry_submit(entry=entry, actor=alice)
    quality_services.entry_check(entry=entry)
    annotation.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    annotation.review_record(
        entry=entry, reviewer=dave, verdict="reject", rating=2, reasons=["personal_data"]
    )

    page = browser_as(carol)
    page.get_by_role("link", name="Moderation").click()
    flag = Flag.objects.get(entry=entry)
    row = page.locator(f'tr[data-flag="{flag.pk}"]')
    # Masked in the list (issue 12); the moderator reads the number in the entry itself.
    expect(row).to_contain_text('phone number "•••• ••• •567"')
    expect(row).not_to_contain_text("0800 123 4567")
    row.get_by_label(f"Note for flag {flag.pk}").fill("A public company number.")
    row.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_text(f"Flag on #{entry.pk} resolved.")).to_be_visible()
    expect(page.locator(f'tr[data-flag="{flag.pk}"]')).to_have_count(0)

    split = page.locator("#split + table").locator(f'tr[data-entry="{entry.pk}"]')
    split.get_by_role("link", name="Open and decide").click()
    expect(page.locator(".votes")).to_contain_text("Personal data")
    page.locator(".moderator").get_by_label("Accept").check()
    page.locator(".moderator").get_by_label("Reason").fill("The number is the public helpline.")
    page.get_by_role("button", name="Decide").click()
    expect(page).to_have_url(re.compile(r"/moderation/$"))

    flag.refresh_from_db()
    entry.refresh_from_db()
    assert (flag.status, flag.note) == (FlagStatus.DISMISSED, "A public company number.")
    assert entry.status == EntryStatus.ACCEPTED


def test_a_contest_admin_creates_a_contest_in_the_browser(browser_as, carol):
    page = browser_as(carol)
    page.get_by_role("link", name="Contests").click()
    page.get_by_label("Name", exact=True).fill("Holiday drive")
    page.get_by_label("Starts at").fill(datetime_local(days_ahead(14, hour=9)))
    page.get_by_label("Ends at", exact=True).fill(datetime_local(days_ahead(18, hour=17)))
    expect(page.get_by_label("Review grace period (hours)")).to_have_value("48")  # the setting
    page.get_by_label("Review grace period (hours)").fill("36")
    page.get_by_label("Prize").fill("Cake for the top three")
    page.get_by_role("checkbox", name="Summarization").check()
    page.get_by_label("Focus bonus").fill("5")
    multipliers = page.get_by_role("group", name="Points multiplier per category")
    expect(multipliers.get_by_label("Closed QA")).to_have_attribute("placeholder", "1.5")
    multipliers.get_by_label("Summarization").fill("2.5")
    page.get_by_role("button", name="Save contest").click()
    expect(page.get_by_text("Holiday drive saved.")).to_be_visible()
    contest = Contest.objects.get(name="Holiday drive")
    assert list(contest.focus_categories.values_list("slug", flat=True)) == ["summarization"]
    assert contest.multipliers == {"summarization": 2.5}
    assert contest.grace_ends_at - contest.ends_at == datetime.timedelta(hours=36)

    # A second contest over the same days is refused beside the form, and keeps what was typed.
    page.get_by_label("Name", exact=True).fill("Clash")
    page.get_by_label("Starts at").fill(datetime_local(days_ahead(15, hour=9)))
    page.get_by_label("Ends at", exact=True).fill(datetime_local(days_ahead(16, hour=17)))
    page.get_by_role("button", name="Save contest").click()
    expect(page.get_by_text("overlaps Holiday drive")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Clash")
    assert not Contest.objects.filter(name="Clash").exists()


def test_a_moderator_raises_a_flag_by_hand_and_the_author_reads_it(browser_as, alice, carol):
    annotation.agreement_accept(user=alice)
    entry = annotation.entry_create(
        author=alice,
        category=category("open_qa"),
        values={
            "instruction": "Which river is the longest in Europe?",
            "response": "The Volga, at about 3,530 kilometres.",
        },
    )
    annotation.entry_submit(entry=entry, actor=alice)

    page = browser_as(carol)
    page.goto(f"/review/{entry.pk}/")
    form = page.locator("#raise-flag")
    form.get_by_role("button", name="Raise flag").click()  # no note: the browser holds it back
    assert form.get_by_label("Note").evaluate("field => field.validity.valueMissing")
    assert not Flag.objects.exists()
    form.get_by_label("Kind").select_option("moderator")
    form.get_by_label("Note").fill("Copied from a travel guide, word for word.")
    form.get_by_role("button", name="Raise flag").click()
    expect(page.get_by_text(f"Flag raised on #{entry.pk}")).to_be_visible()
    flags = page.get_by_label("Quality flags")
    expect(flags).to_contain_text("Raised by a moderator")
    expect(flags).to_contain_text("Copied from a travel guide, word for word.")
    expect(flags).to_contain_text("blocks export")
    flag = Flag.objects.get(entry=entry)
    assert (flag.raised_by, flag.blocking, flag.status) == (carol, True, FlagStatus.OPEN)

    author = browser_as(alice)
    author.goto(f"/entries/{entry.pk}/")
    expect(author.get_by_label("Quality flags")).to_contain_text("Copied from a travel guide")
