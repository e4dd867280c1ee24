"""Issue 15 in the browser: an author withdraws an accepted entry from future releases, a data
scientist pins the snapshot and downloads its Parquet and metadata, and a person erases their
data and is signed out."""

import hashlib
import io

import pandas as pd
import pytest
from playwright.sync_api import expect

from annotation import services as annotation
from annotation.models import ReleaseRemoval, RemovalReason
from exports.models import Snapshot
from tests.factories import accepted_entry, snapshot_built

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_author_withdraws_an_accepted_entry_and_the_next_snapshot_lists_it(
    browser_as, bob, dana, snapshot_storage
):
    annotation.agreement_accept(user=bob)
    kept = accepted_entry(bob, instruction="Which river runs through Vienna?")
    withdrawn = accepted_entry(bob, instruction="Name the tallest mountain in Africa.")
    first = snapshot_built()
    assert first.record_count == 2

    page = browser_as(bob)
    page.goto(f"/entries/{withdrawn.pk}/")
    page.get_by_role("link", name="Withdraw from future releases").click()
    expect(
        page.get_by_role("heading", name="Withdraw this entry from future releases?")
    ).to_be_visible()
    expect(page.get_by_text("This is final:")).to_be_visible()
    page.get_by_role("button", name="Withdraw from future releases").click()
    expect(page.get_by_text("Withdrawn from future releases on")).to_be_visible()
    removal = ReleaseRemoval.objects.get(entry=withdrawn)
    assert (removal.reason, removal.requested_by) == (RemovalReason.WITHDRAWN, bob)
    page.goto(f"/entries/{kept.pk}/")
    expect(page.get_by_role("link", name="Withdraw from future releases")).to_be_visible()

    second = snapshot_built()
    assert second.removals["withdrawn"] == [withdrawn.pk]
    scientist = browser_as(dana)
    scientist.goto(f"/exports/{second.pk}/")
    expect(scientist.get_by_role("heading", name=f"Snapshot v{second.version}")).to_be_visible()
    scientist.get_by_role("button", name="Pin").click()
    expect(scientist.get_by_text("Pinned by dana")).to_be_visible()
    assert Snapshot.objects.get(pk=second.pk).pinned

    for name in ("data/train-00000-of-00001.parquet", "metadata.parquet"):
        shown = scientist.locator("table.files tr", has_text=name).locator("code").first
        with scientist.expect_download() as download:
            scientist.get_by_role("link", name=name, exact=True).click()
        content = open(download.value.path(), "rb").read()  # noqa: SIM115 (a test reading a file)
        assert hashlib.sha256(content).hexdigest() == shown.inner_text()
        frame = pd.read_parquet(io.BytesIO(content))
        assert frame["id"].tolist() == [kept.pk]
        if name == "metadata.parquet":
            assert "bob" not in frame.to_csv()


def test_a_person_erases_their_data_and_is_signed_out(browser_as, alice):
    annotation.agreement_accept(user=alice)
    entry = accepted_entry(alice, instruction="A question only alice ever wrote about otters?")
    page = browser_as(alice)
    page.goto("/accounts/profile/")
    page.get_by_label("Type your username").fill("not-alice")
    page.get_by_role("button", name="Erase my data").click()
    expect(page.locator("#erase-error")).to_be_visible()
    expect(page.get_by_label("Type your username")).to_have_value("not-alice")

    page.get_by_label("Type your username").fill("alice")
    page.get_by_role("button", name="Erase my data").click()
    page.wait_for_url("**/accounts/sign-in/**")
    entry.refresh_from_db()
    alice.refresh_from_db()
    assert entry.instruction == "" and not alice.is_active
    page.goto("/entries/")
    page.wait_for_url("**/accounts/sign-in/**")
