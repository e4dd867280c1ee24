"""Company sign-in in Chromium, through the real provider's own pages (tests/oidc_provider.py)."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.oidc_provider import SCIENTIST_GROUP, STAFF_GROUP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_moderator_signs_in_with_the_company_account_and_out_again(
    page, oidc_settings, oidc_provider
):
    oidc_settings.FLOCK_PASSWORD_SIGN_IN = False
    oidc_provider.user(
        "carol-0042",
        email="carol@acme.example",
        email_verified=True,
        name="Carol Chen",
        preferred_username="carol",
        department="Trust & Safety",
        groups=[STAFF_GROUP, SCIENTIST_GROUP],
    )

    page.goto("/accounts/sign-in/")
    expect(page.get_by_label("Password")).to_have_count(0)
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    page.get_by_label("Subject").fill("carol-0042")  # the provider's own sign-in page
    page.get_by_role("button", name="Authorize", exact=True).click()

    page.wait_for_url("**/write/")
    expect(page.locator(".who")).to_have_text("carol")
    expect(page.get_by_role("link", name="Exports")).to_be_visible()
    page.get_by_role("link", name="Moderation").click()
    expect(page.get_by_role("heading", name="Moderation")).to_be_visible()
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_label("Display name")).to_have_value("Carol Chen")
    carol = get_user_model().objects.get(username="carol")
    assert carol.is_staff and carol.profile.team.name == "Trust & Safety"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/sign-in/")
    page.goto("/moderation/")
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/\?next=/moderation/$"))


def test_someone_outside_the_company_domains_is_told_why(page, oidc_settings, oidc_provider):
    oidc_provider.user("mallory", email="mallory@gmail.example", name="Mallory")

    page.goto("/accounts/sign-in/")
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    page.get_by_label("Subject").fill("mallory")
    page.get_by_role("button", name="Authorize", exact=True).click()

    expect(page.get_by_role("heading", name="Sign-in did not work")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("@gmail.example address may not sign in")
    assert not get_user_model().objects.filter(email="mallory@gmail.example").exists()
