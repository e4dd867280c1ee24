import re

import pytest
from django.core import mail
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_employee_signs_up_confirms_and_signs_in(page, settings):
    settings.FLOCK_SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    page.goto("/accounts/sign-in/")
    page.get_by_role("link", name="Sign up with your company e-mail").click()
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Company e-mail").fill("erin@gmail.example")
    page.get_by_label("Display name").fill("Erin")
    page.get_by_label("Password", exact=True).fill("a-long-unusual-passphrase")
    page.get_by_label("Password again").fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Use your company e-mail address (@acme.example)")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("erin")

    page.get_by_label("Company e-mail").fill("erin@acme.example")
    page.get_by_label("Password", exact=True).fill("a-long-unusual-passphrase")
    page.get_by_label("Password again").fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    link = re.search(r"http://\S+/accounts/activate/\S+", mail.outbox[0].body).group(0)
    page.goto(link)
    expect(page.get_by_text("Your account is confirmed.")).to_be_visible()
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Password").fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/write/")
    expect(page.locator(".who")).to_have_text("erin")
