"""An organiser opens the drive dashboard, reads whether the targets will be met and where the
backlog is, and downloads a table."""

import csv
import datetime
import io

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from annotation.models import Category, EntryStatus
from leaderboard.models import Contest
from tests.factories import EntryFactory, UserFactory, category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_organiser_opens_the_dashboard_and_downloads_a_table(page, sign_in, carol):
    now = timezone.now()
    Contest.objects.create(
        name="Spring sprint",
        starts_at=now - datetime.timedelta(days=1),
        ends_at=now + datetime.timedelta(days=6),
        grace_ends_at=now + datetime.timedelta(days=8),
    )
    Category.objects.filter(slug="open_qa").update(target_count=4)
    writer = UserFactory(username="writer")
    for _ in range(3):
        EntryFactory(
            author=writer,
            category=category("open_qa"),
            status=EntryStatus.ACCEPTED,
            decided_at=now - datetime.timedelta(hours=2),
        )
    for _ in range(2):
        EntryFactory(author=writer, category=category("closed_qa"), status=EntryStatus.SUBMITTED)

    sign_in(carol)
    page.get_by_role("link", name="Drive").click()
    expect(page.get_by_role("heading", name="The drive", exact=True)).to_be_visible()
    expect(page.locator("#computed-at")).to_contain_text(
        "recomputed when 3 minutes old" if settings.CELERY_TASK_ALWAYS_EAGER else "every minute"
    )
    headline = page.locator("#headline")
    expect(headline).to_contain_text("2 entries wait for review")
    expect(headline).to_contain_text("the most in Closed QA (2)")
    progress = page.locator("#table-categories tr", has_text="Open QA")
    expect(progress.locator('td[data-label="Accepted"]')).to_have_text("3")
    expect(progress.locator('td[data-label="Target"]')).to_have_text("4")
    expect(page.locator("#progress svg.chart")).to_be_visible()

    section = page.locator("#progress")
    with page.expect_download() as download:
        section.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename.startswith("drive-categories-")
    assert download.value.suggested_filename.endswith(".csv")
    with open(download.value.path(), encoding="utf-8") as file:
        rows = {row["category"]: row for row in csv.DictReader(io.StringIO(file.read()))}
    assert (rows["open_qa"]["target"], rows["open_qa"]["accepted"]) == ("4", "3")
    assert rows["closed_qa"]["in_review"] == "2"
