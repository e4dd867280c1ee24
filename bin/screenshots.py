"""Take the README's screenshots of a running Flock (`make run` in another terminal).

    .venv/bin/python bin/screenshots.py [--base http://127.0.0.1:8000]

Drives Debian's Chromium (/usr/bin/chromium, or FLOCK_CHROMIUM) through Playwright on the demo
data: bob writing a Closed QA entry, and carol reviewing the entry that waits for review. Writes
docs/img/writing.png and docs/img/review.png. It types into a draft of bob's (autosave keeps it).
"""

import argparse
import os
from pathlib import Path

from playwright.sync_api import sync_playwright

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "img"
CHROMIUM = os.environ.get("FLOCK_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def sign_in(browser, base: str, username: str):
    page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 860})
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("flock-demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    base = parser.parse_args().base
    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)

        writer = sign_in(browser, base, "bob")
        writer.goto("/write/closed_qa/")
        writer.get_by_label("Instruction").fill("How tall is Mount Kilimanjaro, by the passage?")
        writer.get_by_label("Reference passage").fill(
            "Mount Kilimanjaro is a dormant volcano in Tanzania. It is the highest mountain in "
            "Africa, about 5,895 metres above sea level."
        )
        writer.get_by_label("Source URL of the passage").fill(
            "https://en.wikipedia.org/wiki/Mount_Kilimanjaro"
        )
        writer.get_by_label("Response").fill("About 5,895 metres above sea level.")
        writer.wait_for_timeout(1500)  # the autosave's "Saved" status
        writer.screenshot(path=IMAGES / "writing.png")

        reviewer = sign_in(browser, base, "carol")
        reviewer.goto("/review/")
        reviewer.get_by_role("button", name="Review next").click()
        reviewer.wait_for_load_state()
        reviewer.get_by_label("Approve").check()
        reviewer.screenshot(path=IMAGES / "review.png")
        browser.close()
    print(f"wrote {IMAGES / 'writing.png'} and {IMAGES / 'review.png'}")


if __name__ == "__main__":
    main()
