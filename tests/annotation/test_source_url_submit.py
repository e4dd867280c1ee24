"""A reference passage's source URL at submit, through the writing page and the API: a URL that a
browser and Python could read apart is refused beside the field with the draft kept, and an
accepted one is stored normalised."""

import pytest

from annotation import services
from annotation.models import Entry, EntryStatus

pytestmark = pytest.mark.django_db

AUDIT_URL = "https://evil.example\\.wikipedia.org/wiki/Paris"


def _closed_qa(**overrides):
    return {
        "entry": "",
        "category": "closed_qa",
        "instruction": "What is the capital of France?",
        "context": "Paris is the capital and largest city of France.",
        "source_url": "https://en.wikipedia.org/wiki/Paris",
        "response": "Paris.",
        **overrides,
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (AUDIT_URL, "has no place in one"),
        ("https://en.wikipedia.org@evil.example/wiki/Paris", "user name or password"),
        ("https://evil.example%2ewikipedia.org/wiki/Paris", "not a domain name"),
    ],
)
def test_the_writing_page_refuses_the_url_beside_the_field_and_keeps_the_draft(
    client, agreed, url, message
):
    client.force_login(agreed)
    response = client.post("/entries/submit/", _closed_qa(source_url=url))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_source_url_error"' in page and message in page
    assert "What is the capital of France?</textarea>" in page
    draft = Entry.objects.get(author=agreed)
    assert draft.status == EntryStatus.DRAFT
    assert draft.source_url == url  # a draft keeps what was typed

    fixed = _closed_qa(entry=draft.pk, source_url="HTTPS://EN.Wikipedia.ORG.:443/wiki/Paris")
    assert client.post("/entries/submit/", fixed).status_code == 302
    draft.refresh_from_db()
    assert draft.status == EntryStatus.SUBMITTED
    assert draft.source_url == "https://en.wikipedia.org/wiki/Paris"
    assert draft.revisions.last().source_url == "https://en.wikipedia.org/wiki/Paris"


def test_the_api_refuses_the_url_at_submit_with_a_field_message(alice_api, alice):
    services.agreement_accept(user=alice)
    body = {key: value for key, value in _closed_qa(source_url=AUDIT_URL).items() if key != "entry"}
    entry = alice_api.post("/api/v1/entries/", body, format="json").json()
    response = alice_api.post(f"/api/v1/entries/{entry['id']}/submit/")
    assert response.status_code == 400
    assert "has no place in one" in " ".join(response.json()["source_url"])
    assert Entry.objects.get(pk=entry["id"]).status == EntryStatus.DRAFT

    fixed = {"source_url": "https://de.wikipedia.org/wiki/München"}
    url = f"/api/v1/entries/{entry['id']}/"
    assert alice_api.patch(url, fixed, format="json").status_code == 200
    assert alice_api.post(f"{url}submit/").status_code == 200
    stored = Entry.objects.get(pk=entry["id"])
    assert stored.source_url == "https://de.wikipedia.org/wiki/M%C3%BCnchen"


@pytest.mark.django_db
def test_a_drafts_source_that_is_no_web_address_is_shown_but_never_a_link(client, alice):
    """What the author typed stays visible on the draft's page; only a valid URL becomes a link,
    so `javascript:` typed into the field can never run from it."""
    from tests.factories import EntryFactory, category

    draft = EntryFactory(
        author=alice,
        category=category("closed_qa"),
        context="A passage.",
        source_url="javascript:alert(document.cookie)",
    )
    client.force_login(alice)
    page = client.get(f"/entries/{draft.pk}/").content.decode()
    assert "javascript:alert(document.cookie)" in page
    assert 'href="javascript:' not in page
    draft.source_url = "https://EN.wikipedia.org/wiki/Paris"
    draft.save(update_fields=["source_url"])
    page = client.get(f"/entries/{draft.pk}/").content.decode()
    assert 'href="https://en.wikipedia.org/wiki/Paris"' in page
