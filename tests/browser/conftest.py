"""Playwright driving Debian's Chromium (never a downloaded browser) against pytest-django's live server."""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("FLOCK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("FLOCK_REQUIRE_BROWSER") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do: a loaded CI machine is slower, not wrong.
    expect.set_options(timeout=10_000)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _seeded(seeded):
    """Every browser test needs the categories and agreement (see tests/conftest.py: seeded)."""


# What Chromium prints when a page breaks the Content-Security-Policy or Permissions-Policy.
POLICY_ERRORS = ("Content Security Policy", "Permissions-Policy", "Permissions policy")


@pytest.fixture(autouse=True)
def policy_violations():
    """Every browser test fails if a page it opened broke the Content-Security-Policy (an inline
    script or style, a style="" attribute, an on…= handler, eval, a foreign resource) or sent a
    Permissions-Policy Chromium does not understand: what the browser printed, in order."""
    violations = []
    yield violations
    if violations:
        pytest.fail("The browser reported policy violations:\n" + "\n".join(violations))


def _new_context(browser, live_server, violations=None):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    if violations is not None:
        context.on("console", lambda message: _record_policy_error(message, violations))
    return context


def _record_policy_error(message, violations):
    if message.type == "error" and any(marker in message.text for marker in POLICY_ERRORS):
        where = message.location or {}
        source = f" (from {where.get('url')}:{where.get('lineNumber')})" if where.get("url") else ""
        violations.append(f"{message.page.url if message.page else '?'}: {message.text}{source}")


@pytest.fixture
def page(browser, live_server, request, policy_violations):
    context = _new_context(browser, live_server, policy_violations)
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    last = next((p for p in reversed(context.pages) if not p.is_closed()), None)
    if last is not None:
        last.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
    context.close()


@pytest.fixture
def sign_in(page, password):
    def sign_in_as(user):
        page.goto("/accounts/sign-in/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/write/")

    return sign_in_as


@pytest.fixture
def browser_as(browser, live_server, password, request, policy_violations):
    """A signed-in page per person, each in its own browser context (its own cookies)."""
    contexts = []

    def open_for(user):
        context = _new_context(browser, live_server, policy_violations)
        contexts.append((user.username, context))
        page = context.new_page()
        page.goto("/accounts/sign-in/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/write/")
        return page

    yield open_for
    ARTIFACTS.mkdir(exist_ok=True)
    for username, context in contexts:
        for page in context.pages:
            if not page.is_closed():
                page.screenshot(
                    path=ARTIFACTS / f"{request.node.name}-{username}.png", full_page=True
                )
        context.close()


def approve_next(page, rating: str):
    """As the signed-in reviewer: Review next, approve with `rating`, record it."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="Review", exact=True).click()
    page.get_by_role("button", name="Review next").click()
    expect(page).to_have_url(re.compile(r"/review/\d+/$"))
    page.get_by_label("Approve").check()
    page.locator(f'input[name="rating"][value="{rating}"]').check()
    page.get_by_role("button", name="Record review").click()
    expect(page.get_by_text("your review of")).to_be_visible()
