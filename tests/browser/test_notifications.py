"""Notifications in a browser: the person opts in to e-mail on their profile, their entry is
decided, the menu's badge shows it, the list opens and takes them to the entry."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from annotation import services
from tests.factories import submitted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_badge_shows_a_decision_and_the_list_opens_it(
    page, sign_in, alice, carol, eager_celery
):
    entry = submitted(alice, instruction="Name three rivers of Europe.")
    sign_in(alice)
    expect(page.locator("#nav-notifications")).to_have_text("Notifications")

    page.goto("/accounts/profile/")
    page.get_by_label("E-mail me about my notifications").select_option("each")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()

    mail.outbox.clear()
    services.entry_decide(entry=entry, moderator=carol, verdict="approve", reason="Clear.")
    page.reload()
    expect(page.locator("#notifications-badge")).to_have_text("1 new")
    assert [m.to for m in mail.outbox] == [[alice.email]]

    page.locator("#nav-notifications").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    row = page.locator("#notification-list tr[data-notification]")
    expect(row).to_contain_text("was accepted by a moderator.")
    expect(page.locator("#notifications-badge")).to_have_count(0)  # read once shown

    row.get_by_role("link", name="Open").click()
    expect(page).to_have_url(re.compile(rf"/entries/{entry.pk}/$"))
    expect(page.get_by_text("Name three rivers of Europe.")).to_be_visible()
