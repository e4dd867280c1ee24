import hashlib
import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from annotation.models import ApiToken
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def call_me(live_server, key: str) -> tuple[int, dict]:
    """What a script gets from /api/v1/me/ with `key`, outside the browser and its cookies."""
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/me/", headers={"Authorization": f"Token {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def test_a_token_is_made_used_listed_and_revoked_from_the_profile(page, sign_in, live_server):
    alice = UserFactory(username="alice")
    sign_in(alice)
    page.goto("/accounts/profile/")
    expect(page.get_by_text("You have no API tokens.")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("nightly download")
    page.get_by_label("Expires").select_option(label="in 30 days")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_text("Copy it now")).to_be_visible()
    key = page.get_by_label("Token", exact=True).input_value()
    token = ApiToken.objects.get(user=alice)
    assert key.startswith(token.prefix) and token.digest == hashlib.sha256(key.encode()).hexdigest()
    row = page.locator("#token-list tr", has_text="nightly download")
    expect(row).to_contain_text(f"{token.prefix}…")
    expect(row).to_contain_text("never")  # not used yet

    status, body = call_me(live_server, key)
    assert (status, body["username"]) == (200, "alice")
    page.goto("/accounts/profile/")
    expect(page.get_by_label("Token", exact=True)).to_have_count(0)  # shown once
    expect(page.locator("#token-list tr", has_text="nightly download")).not_to_contain_text("never")

    page.get_by_role("button", name="Revoke nightly download").click()
    expect(page.get_by_text("Token “nightly download” revoked")).to_be_visible()
    expect(page.get_by_text("You have no API tokens.")).to_be_visible()
    status, body = call_me(live_server, key)
    assert status == 401 and body["detail"] == "Invalid token."
