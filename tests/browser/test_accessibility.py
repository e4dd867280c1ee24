"""Accessibility in a real browser: axe-core finds no serious or critical violation on any main
page, for each persona, in the light and the dark theme; the skip link is the first stop of the
keyboard; after a failed submit the focus is on the first field to fix.

axe-core is vendored as one file (tests/browser/vendor/axe.min.js, MPL-2.0, from npm's
axe-core@4), so the tests run offline. The pages' Content-Security-Policy forbids injecting it as
a <script> tag; page.evaluate runs it through the DevTools protocol, which the policy does not
govern, so the page under test keeps its real policy."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.main_pages import main_pages
from tests.factories import handed_to, submitted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()

RUN_AXE = """async () => {
  const results = await axe.run(document);
  return {
    checked: results.passes.length,
    serious: results.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3)
        .map((n) => n.target.join(" ")).join(", ")}`),
  };
}"""


def serious_violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    results = page.evaluate(RUN_AXE)
    assert results["checked"] > 10, "axe checked next to nothing: did it run?"
    return results["serious"]


def check_page(page, where: str, found: list[str]) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        found.extend(f"{where}, {scheme}: {v}" for v in serious_violations(page))


def test_axe_finds_nothing_serious_on_the_main_pages(browser_as, page, alice, bob, carol):
    pages = main_pages(contributor=alice, moderator=carol, other=bob)
    found: list[str] = []
    page.goto("/accounts/sign-in/")
    check_page(page, "sign-in", found)
    for persona, user in (("contributor", alice), ("moderator", carol)):
        signed_in = browser_as(user)
        for name, url in pages[persona].items():
            signed_in.goto(url)
            check_page(signed_in, f"{persona} {name} {url}", found)
        # The menu folded on a phone, and opened.
        signed_in.set_viewport_size({"width": 390, "height": 844})
        signed_in.goto(pages[persona]["entry detail"])
        check_page(signed_in, f"{persona} phone, menu folded", found)
        signed_in.get_by_role("button", name="Menu").click()
        check_page(signed_in, f"{persona} phone, menu open", found)
    assert not found, "\n".join(found)


FIRST_FOCUSABLE = """() => document.querySelector(
  "a[href], button:not([hidden]), input:not([type=hidden]), select, textarea, [tabindex='0']"
).textContent"""


def test_axe_reports_what_it_finds(page):
    """The check above would pass if axe saw nothing: here it must see an unnamed button."""
    page.goto("/accounts/sign-in/")
    page.evaluate("document.querySelector('main').append(document.createElement('button'))")
    assert any(v.startswith("button-name") for v in serious_violations(page))


def test_the_skip_link_is_the_first_stop_and_leads_to_the_content(browser_as, page, alice):
    # The sign-in form puts the cursor in Username; the skip link still comes first.
    page.goto("/accounts/sign-in/")
    assert page.evaluate(FIRST_FOCUSABLE) == "Skip to content"

    signed_in = browser_as(alice)
    signed_in.goto("/leaderboard/")
    assert signed_in.evaluate(FIRST_FOCUSABLE) == "Skip to content"
    signed_in.keyboard.press("Tab")
    skip = signed_in.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    signed_in.keyboard.press("Enter")
    expect(signed_in.locator("main#content")).to_be_focused()
    # The next Tab goes on from the content, past the menu.
    signed_in.keyboard.press("Tab")
    assert signed_in.evaluate("document.activeElement.closest('main') !== null")


def test_after_a_failed_submit_the_focus_is_on_the_first_field_to_fix(browser_as, alice, bob):
    from annotation import services

    services.agreement_accept(user=alice)
    writer = browser_as(alice)
    writer.goto("/write/open_qa/")
    writer.get_by_label("Response").fill("An answer without its question.")
    writer.get_by_role("button", name="Submit for review").click()
    instruction = writer.get_by_label("Instruction")
    expect(instruction).to_be_focused()
    expect(instruction).to_have_attribute("aria-invalid", "true")
    described = instruction.get_attribute("aria-describedby")
    expect(writer.locator(f"#{described}")).to_contain_text("")
    assert writer.locator(f"#{described}").inner_text().strip()

    entry = handed_to(submitted(alice), bob)
    reviewer = browser_as(bob)
    reviewer.goto(f"/review/{entry.pk}/")
    reviewer.get_by_label("Comment for the author").fill("Nice one.")
    reviewer.get_by_role("button", name="Record review").click()
    first_verdict = reviewer.locator("input[name=verdict]").first
    expect(first_verdict).to_be_focused()
    expect(reviewer.get_by_label("Comment for the author")).to_have_value("Nice one.")
    group = reviewer.locator("fieldset", has=first_verdict)
    error_id = group.get_attribute("aria-describedby")
    assert reviewer.locator(f"#{error_id}").inner_text().strip()
