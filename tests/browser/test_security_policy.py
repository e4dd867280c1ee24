"""Flock's pages, the admin, the API's docs and the browsable API work under the strict
Content-Security-Policy: nothing refused, nothing broken (every browser test also fails on a
violation: see policy_violations in conftest.py)."""

import pytest
from playwright.sync_api import expect

from annotation import services as annotation
from tests.factories import submitted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_errors(page):
    """Everything the browser called an error, and every script that threw."""
    errors = []

    def console(message):
        # The admin's and DRF's pages link no icon, so Chromium asks for /favicon.ico (a 404).
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{page.url}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    return errors


def test_every_kind_of_page_runs_under_the_policy(
    page, sign_in, browser_errors, alice, carol, dana
):
    """Carol (staff, data scientist, admin) opens a page of each kind; none refuses anything."""
    carol.groups.add(*dana.groups.all())
    carol.is_superuser = True
    carol.save(update_fields=["is_superuser"])
    annotation.agreement_accept(user=alice)
    annotation.agreement_accept(user=carol)
    annotation.flag_raise_by_hand(
        entry=submitted(alice), moderator=carol, kind="moderator", note="check this"
    )
    sign_in(carol)

    for url in [
        "/write/",
        "/entries/",
        "/review/",
        "/leaderboard/",
        "/points/",
        "/accounts/profile/",
        "/exports/",
        "/moderation/",
        "/contests/",
    ]:
        response = page.goto(url)
        assert response.status == 200, url
        assert "default-src 'self'" in response.headers["content-security-policy"], url
        assert "camera=()" in response.headers["permissions-policy"], url

    # Writing: htmx autosaves and looks for similar entries as she types (no eval needed).
    page.goto("/write/open_qa/")
    page.get_by_label("Instruction").fill("What is the capital of Peru, the country?")
    expect(page.locator("#save-status")).to_contain_text("saved at", timeout=15_000)

    # The admin keeps working: its list, a change form and its JavaScript.
    page.goto("/admin/")
    expect(page.locator("#content-main")).to_be_visible()
    page.goto("/admin/annotation/entry/")
    expect(page.locator("#result_list")).to_be_visible()
    page.locator("#result_list tbody a").first.click()
    expect(page.locator("#content-main form")).to_be_visible()

    # The API's docs: Swagger UI draws every operation from the schema.
    page.goto("/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    expect(page.get_by_text("/api/v1/entries/", exact=True).first).to_be_visible()

    # The browsable API, which answered 500 here before.
    for url in ["/api/v1/entries/", "/api/v1/flags/"]:
        response = page.goto(url)
        assert response.status == 200, url
        expect(page.locator(".response-info")).to_be_visible()

    assert browser_errors == []


def test_a_page_that_broke_the_policy_would_fail_its_test(page, sign_in, alice, policy_violations):
    """The check every browser test has: an inline style and an inline script are refused by the
    browser, and reported."""
    sign_in(alice)
    page.evaluate(
        """() => {
            const style = document.createElement("style");
            style.textContent = "body { background: red }";
            document.head.appendChild(style);
            const script = document.createElement("script");
            script.textContent = "window.ranInline = true";
            document.head.appendChild(script);
        }"""
    )

    expect(page.locator("body")).not_to_have_css("background-color", "rgb(255, 0, 0)")
    assert page.evaluate("() => window.ranInline === undefined")
    page.wait_for_timeout(200)  # the console messages arrive after the DOM changes
    assert len(policy_violations) == 2
    assert all("Content Security Policy" in v for v in policy_violations)
    policy_violations.clear()  # expected here: do not fail this test at teardown
