"""Nothing typed on the writing page is lost: a sign-out in another tab, two tabs on one draft,
restoring a revision, and a reload with text the server never got."""

import re

import pytest
from playwright.sync_api import expect

from annotation import services
from annotation.models import Entry, EntryStatus, Revision
from tests.browser.waiting import wait_for
from tests.factories import category

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _saved(page, text):
    """Wait for the autosave that carries `text`, and check it was stored."""
    return page.expect_response(
        lambda r: "/entries/autosave/" in r.url and text in (r.request.post_data or "")
    )


def _draft(author, response):
    return services.entry_create(
        author=author,
        category=category("open_qa"),
        values={"instruction": "Why do cats purr?", "response": response},
    )


def test_signed_out_in_another_tab_the_submit_keeps_every_character(
    page, sign_in, agreed, password
):
    sign_in(agreed)
    page.goto("/write/open_qa/")
    page.get_by_label("Instruction").fill("Why do cats purr?")
    with _saved(page, "Contentment") as saved:
        page.get_by_label("Response").fill("Contentment")
    assert saved.value.ok

    other = page.context.new_page()
    other.goto("/entries/")
    other.get_by_role("button", name="Sign out").click()
    other.wait_for_url("**/sign-in/**")

    full = "Contentment, mostly, and sometimes pain."
    page.bring_to_front()
    page.get_by_label("Response").fill(full)
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#signed-out")).to_contain_text("you are signed out")
    expect(page.locator("#signed-out").get_by_role("link")).to_have_attribute("target", "_blank")
    expect(page).to_have_url(re.compile(r"/entries/\d+/edit/$"))
    expect(page.get_by_label("Response")).to_have_value(full)

    other.get_by_label("Username").fill(agreed.username)
    other.get_by_label("Password").fill(password)
    other.get_by_role("button", name="Sign in").click()
    other.wait_for_url("**/write/")

    page.bring_to_front()
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url("**/entries/?status=submitted&written_in=open_qa")
    entry = Entry.objects.get(author=agreed)
    assert entry.status == EntryStatus.SUBMITTED
    assert entry.response == full
    assert page.evaluate("Object.keys(localStorage).length") == 0


def test_two_tabs_on_one_draft_keep_both_texts_and_the_writer_chooses(page, sign_in, alice):
    sign_in(alice)
    entry = _draft(alice, "Contentment.")
    page.goto(f"/entries/{entry.pk}/edit/")
    second = page.context.new_page()
    second.goto(f"/entries/{entry.pk}/edit/")

    with _saved(second, "second") as saved:
        second.get_by_label("Response").fill("Purring, from the second tab.")
    assert saved.value.ok

    page.bring_to_front()
    with _saved(page, "first") as refused:
        page.get_by_label("Response").fill("Purring, from the first tab.")
    assert refused.value.status == 409
    conflict = page.locator("#draft-conflict")
    expect(conflict).to_contain_text("This draft changed in another tab")
    expect(conflict.locator('textarea[data-field="response"]')).to_have_value(
        "Purring, from the second tab."
    )
    expect(page.get_by_label("Response", exact=True)).to_have_value("Purring, from the first tab.")
    entry.refresh_from_db()
    assert entry.response == "Purring, from the second tab."

    # Leaving the field may send one more save at the old version first: wait for the one
    # that is stored.
    with page.expect_response(lambda r: "/entries/autosave/" in r.url and r.ok):
        conflict.get_by_role("button", name="Keep my text").click()
    expect(conflict).to_be_hidden()
    entry.refresh_from_db()
    assert entry.response == "Purring, from the first tab."


def test_the_author_restores_an_earlier_revision_into_the_draft(page, sign_in, alice):
    sign_in(alice)
    entry = _draft(alice, "Contentment.")
    services.entry_update(entry=entry, actor=alice, values={"response": "Pain, sometimes."})

    page.goto(f"/entries/{entry.pk}/")
    page.get_by_role("link", name="r1", exact=True).click()
    expect(page.get_by_text("Contentment.")).to_be_visible()
    page.get_by_role("button", name="Restore this revision into the draft").click()
    expect(page).to_have_url(re.compile(rf"/entries/{entry.pk}/edit/$"))
    expect(page.get_by_text("Restored r1")).to_be_visible()
    expect(page.get_by_label("Response")).to_have_value("Contentment.")
    assert [r.response for r in Revision.objects.filter(entry=entry)] == [
        "Contentment.",
        "Pain, sometimes.",
        "Contentment.",
    ]


def test_a_reload_restores_text_the_server_never_got(page, sign_in, alice):
    sign_in(alice)
    entry = _draft(alice, "Contentment.")
    page.goto(f"/entries/{entry.pk}/edit/")
    # The server is unreachable for the autosave: the text is only in the page and its storage.
    page.route("**/entries/autosave/", lambda route: route.abort())
    page.get_by_label("Response").fill("Contentment, and healing bones.")
    wait_for(lambda: "healing" in (page.evaluate("JSON.stringify(localStorage)") or ""))
    page.unroute("**/entries/autosave/")

    with _saved(page, "healing") as saved:
        page.reload()
    assert saved.value.ok
    expect(page.get_by_label("Response")).to_have_value("Contentment, and healing bones.")
    expect(page.locator("#restored")).to_be_visible()
    wait_for(lambda: Entry.objects.get(pk=entry.pk).response == "Contentment, and healing bones.")
