import hashlib
import json

import pytest
from django.conf import settings
from playwright.sync_api import expect

from annotation import services as annotation
from annotation.models import EntryStatus
from tests.conftest import celery_worker
from tests.factories import EntryFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_data_scientist_builds_a_snapshot_watches_it_and_downloads_the_data(page, sign_in, dana):
    writer = UserFactory(username="writer")
    annotation.agreement_accept(user=writer)
    for n in range(5):
        EntryFactory(author=writer, status=EntryStatus.ACCEPTED, instruction=f"Question {n}?")
    with_worker = not settings.CELERY_TASK_ALWAYS_EAGER
    if with_worker:  # CI: a real worker, started once the page shows the build waiting for it
        from config.celery import app

        app.control.purge()

    sign_in(dana)
    page.get_by_role("link", name="Exports").click()
    expect(page.get_by_text("No snapshots yet.")).to_be_visible()
    page.get_by_label("Validation split (%)").fill("20")
    page.get_by_role("button", name="Build snapshot").click()
    expect(page.get_by_role("heading", name="Snapshot v1")).to_be_visible()
    progress = page.locator(".snapshot-progress")
    if with_worker:
        expect(progress).to_have_attribute("data-status", "pending")
        expect(progress.locator("progress")).to_be_visible()
        expect(progress).to_contain_text("Waiting for a worker")
        with celery_worker(purge=False):
            # The bar polls; when the build is done the page reloads with the outcome.
            expect(progress).to_have_attribute("data-status", "ready", timeout=60_000)
    expect(progress).to_contain_text("Ready")
    expect(progress).to_contain_text("5 records")
    expect(page.get_by_role("heading", name="Files")).to_be_visible()
    expect(page.get_by_role("link", name="train.jsonl")).to_be_visible()
    shown_sha = page.locator("table.files tr", has_text="data.jsonl").locator("code").inner_text()

    with page.expect_download() as download:
        page.get_by_role("link", name="data.jsonl", exact=True).click()
    assert download.value.suggested_filename == "data.jsonl"
    content = open(download.value.path(), "rb").read()  # noqa: SIM115 (a test reading a file)
    assert hashlib.sha256(content).hexdigest() == shown_sha
    lines = [json.loads(line) for line in content.splitlines()]
    assert [line["instruction"] for line in lines] == [f"Question {n}?" for n in range(5)]

    page.get_by_role("link", name="← All snapshots").click()
    expect(page.locator("#snapshot-v1")).to_contain_text("5")
    expect(page.get_by_text("Latest snapshot of all the data:")).to_contain_text("v1")
