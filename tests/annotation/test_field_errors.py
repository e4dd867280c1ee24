"""Field errors are tied to their fields for screen readers: a field with an error is marked
aria-invalid, and every id its aria-describedby names is an element of the page (the help text,
the error). Also: the fields where people write follow the text's direction (dir="auto")."""

from html.parser import HTMLParser

import pytest

from annotation import services
from tests.factories import handed_to, submitted

pytestmark = pytest.mark.django_db


class _Page(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.ids: set[str] = set()
        self.described: dict[str, list[str]] = {}  # name or id of the element -> ids it names
        self.invalid: set[str] = set()
        self.tags: dict[str, dict[str, str]] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {key: value or "" for key, value in attrs}
        key = attributes.get("name") or attributes.get("id") or f"{tag}-{self.getpos()}"
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if "aria-describedby" in attributes:
            self.described[key] = attributes["aria-describedby"].split()
        if attributes.get("aria-invalid") == "true":
            self.invalid.add(key)
        self.tags.setdefault(key, {"tag": tag, **attributes})

    def assert_descriptions_exist(self):
        for key, ids in self.described.items():
            missing = [i for i in ids if i not in self.ids]
            assert not missing, f"{key} is described by {missing}, which the page lacks"


def test_a_refused_token_name_is_tied_to_its_field(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/profile/tokens/", {"name": "", "expires_in_days": "30"})
    page = _Page(response.content.decode())
    assert page.described["name"] == ["id_name_helptext", "id_name_error"]
    assert "name" in page.invalid
    page.assert_descriptions_exist()


def test_a_refused_draft_marks_its_fields_and_points_at_their_errors(client, agreed):
    client.force_login(agreed)
    response = client.post(
        "/entries/submit/",
        {"entry": "", "category": "open_qa", "instruction": "", "response": ""},
    )
    assert response.status_code == 400
    page = _Page(response.content.decode())
    assert {"instruction", "response"} <= page.invalid
    assert "id_instruction_error" in page.described["instruction"]
    page.assert_descriptions_exist()
    for name in ("instruction", "response"):
        assert page.tags[name]["dir"] == "auto"


def test_a_review_without_a_verdict_points_each_group_at_its_error(client, alice, bob):
    entry = handed_to(submitted(alice), bob)
    client.force_login(bob)
    response = client.post(f"/review/{entry.pk}/", {"comment": "Looks fine"})
    page = _Page(response.content.decode())
    fieldsets = [ids for key, ids in page.described.items() if key.startswith("fieldset-")]
    assert ["id_verdict_error"] in fieldsets and ["id_rating_error"] in fieldsets
    assert "verdict" in page.invalid and "rating" in page.invalid
    page.assert_descriptions_exist()
    assert page.tags["comment"]["dir"] == "auto"


def test_a_refused_snapshot_option_is_tied_to_its_field(client, carol):
    client.force_login(carol)
    response = client.post("/exports/", {"min_approvals": "-3", "validation_percent": "0"})
    page = _Page(response.content.decode())
    assert page.described["min_approvals"] == ["min_approvals-error"]
    assert "min_approvals" in page.invalid
    page.assert_descriptions_exist()


def test_text_people_write_is_shown_in_its_own_direction(client, alice):
    services.agreement_accept(user=alice)
    entry = submitted(alice, instruction="ما هي عاصمة فرنسا؟", response="باريس.")
    client.force_login(alice)
    html = client.get(f"/entries/{entry.pk}/").content.decode()
    assert '<dd dir="auto">ما هي عاصمة فرنسا؟</dd>' in html
    assert '<dd dir="auto">باريس.</dd>' in html
