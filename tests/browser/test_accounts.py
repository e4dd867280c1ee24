import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from playwright.sync_api import expect

from tests.factories import UserFactory

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
    page.goto(link)  # opening the link (as a mail scanner would) only shows a button
    expect(page.get_by_role("heading", name="Confirm your account")).to_be_visible()
    assert not get_user_model().objects.get(username="erin").is_active
    page.get_by_role("button", name="Confirm my account").click()
    page.wait_for_url("**/write/")
    expect(page.get_by_text("Your account is confirmed and you are signed in.")).to_be_visible()
    expect(page.locator(".who")).to_have_text("erin")

    page.goto(link)  # the link is spent
    expect(page.get_by_role("heading", name="This confirmation link is not valid")).to_be_visible()


def test_a_second_sign_up_with_the_same_address_looks_the_same_and_mails_the_owner(page, settings):
    settings.FLOCK_SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    UserFactory(username="dora", email="dora@acme.example")
    page.goto("/accounts/sign-up/")
    page.get_by_label("Username").fill("dora-again")
    page.get_by_label("Company e-mail").fill("dora@acme.example")
    page.get_by_label("Password", exact=True).fill("a-long-unusual-passphrase")
    page.get_by_label("Password again").fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    assert mail.outbox[-1].to == ["dora@acme.example"]
    assert "already has one (username: dora)" in mail.outbox[-1].body
    assert not get_user_model().objects.filter(username="dora-again").exists()


def test_wrong_passwords_lead_to_a_page_that_says_how_long_to_wait(page, alice, password):
    page.goto("/accounts/sign-in/")
    for _ in range(4):
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("not-her-password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("correct username and password")).to_be_visible()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Too many failed sign-ins")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Wait 15 minutes, then try again")

    page.get_by_role("link", name="try again").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(password)  # the right one, too early
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Too many failed sign-ins")).to_be_visible()


def test_forgot_password_resets_it_by_mail(page, alice):
    page.goto("/accounts/sign-in/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(alice.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    link = re.search(r"http://\S+/accounts/password-reset/\S+", mail.outbox[0].body).group(0)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a-brand-new-passphrase")
    page.get_by_label("New password confirmation").fill("a-brand-new-passphrase")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("a-brand-new-passphrase")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/write/")
    expect(page.locator(".who")).to_have_text("alice")
