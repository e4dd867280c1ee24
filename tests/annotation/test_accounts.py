"""Sign-up without enumeration, confirmation by POST with a single-use link, password reset."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from annotation import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSPHRASE = "a-long-unusual-passphrase"


@pytest.fixture(autouse=True)
def _company(settings):
    settings.FLOCK_SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    settings.FLOCK_PASSWORD_SIGN_IN = True


def _sign_up(client, username="erin", email="erin@acme.example"):
    form = {
        "username": username,
        "email": email,
        "display_name": "Erin",
        "password": PASSPHRASE,
        "password_again": PASSPHRASE,
    }
    return client.post("/accounts/sign-up/", form)


def _link(message, path="activate") -> str:
    return re.search(rf"http://testserver(/accounts/{path}/\S+)", message.body).group(1)


def _neutral(response, email) -> str:
    """The page with what the visitor typed and the CSRF token taken out."""
    text = re.sub(r"[A-Za-z0-9]{64}", "CSRF", response.content.decode())
    return text.replace(email, "EMAIL")


def _signed_up_link(client) -> str:
    _sign_up(client)
    return _link(mail.outbox[-1])


# --- Confirmation: GET shows a button, POST confirms, once ------------------------------------


def test_opening_the_link_changes_nothing_the_button_confirms_and_signs_in(client):
    link = _signed_up_link(client)
    page = client.get(link)
    assert page.status_code == 200
    assert b"Confirm my account" in page.content and b"erin" in page.content
    client.head(link)
    assert not User.objects.get(username="erin").is_active  # a mail scanner's fetch did nothing

    confirmed = client.post(link)
    assert confirmed.status_code == 302 and confirmed["Location"] == "/write/"
    erin = User.objects.get(username="erin")
    assert erin.is_active and erin.last_login is not None
    assert client.get("/write/").status_code == 200


def test_a_confirmation_link_works_once(client):
    link = _signed_up_link(client)
    client.post(link)
    again = Client()
    assert again.get(link).status_code == 400
    assert again.post(link).status_code == 400
    assert b"used already" in again.post(link).content


def test_a_confirmation_link_never_reactivates_an_account_an_admin_deactivated(client):
    link = _signed_up_link(client)
    client.post(link)
    erin = User.objects.get(username="erin")
    erin.is_active = False  # as the admin's "active" box does
    erin.save()

    stranger = Client()
    assert stranger.get(link).status_code == 400
    assert stranger.post(link).status_code == 400
    erin.refresh_from_db()
    assert not erin.is_active


def test_a_confirmation_link_for_another_account_or_a_forged_token_is_refused(client):
    link = _signed_up_link(client)
    bob = UserFactory(username="bob", is_active=False)
    uid, token = link.rstrip("/").split("/")[-2:]
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    bob_uid = urlsafe_base64_encode(force_bytes(bob.pk))
    assert client.post(f"/accounts/activate/{bob_uid}/{token}/").status_code == 400
    assert client.post(f"/accounts/activate/{uid}/{token[:-2]}xx/").status_code == 400
    assert client.get("/accounts/activate/%FF/abc/").status_code == 400
    bob.refresh_from_db()
    assert not bob.is_active


def test_the_old_default_token_no_longer_confirms(client):
    """Links made by Django's password-reset generator (the old scheme) are not confirmations."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    _sign_up(client)
    erin = User.objects.get(username="erin")
    uid = urlsafe_base64_encode(force_bytes(erin.pk))
    token = default_token_generator.make_token(erin)
    assert client.post(f"/accounts/activate/{uid}/{token}/").status_code == 400


def test_confirmation_refuses_other_methods(client):
    link = _signed_up_link(client)
    assert client.put(link).status_code == 405


# --- Sign-up tells nothing about who has an account -------------------------------------------


def test_an_address_with_an_account_gets_the_same_answer_and_its_owner_a_mail(client):
    UserFactory(username="dora", email="dora@acme.example")
    fresh = _sign_up(Client(), username="newbie", email="newbie@acme.example")
    taken = _sign_up(client, username="someone", email="DORA@acme.example")
    assert taken.status_code == fresh.status_code == 200
    assert _neutral(taken, "DORA@acme.example") == _neutral(fresh, "newbie@acme.example")

    assert not User.objects.filter(username="someone").exists()
    notice = mail.outbox[-1]
    assert notice.to == ["dora@acme.example"]
    assert "Someone tried" in notice.subject
    assert "username: dora" in notice.body
    assert "http://testserver/accounts/sign-in/" in notice.body
    assert "http://testserver/accounts/password-reset/" in notice.body
    assert "/accounts/activate/" not in notice.body


def test_a_taken_username_gets_the_same_answer_and_a_free_one_told_by_mail(client):
    UserFactory(username="erin", email="erin.old@acme.example")
    UserFactory(username="Erin2", email="erin.two@acme.example")
    fresh = _sign_up(Client(), username="frank", email="frank@acme.example")
    answer = _sign_up(client, username="erin", email="erin.new@acme.example")
    assert _neutral(answer, "erin.new@acme.example") == _neutral(fresh, "frank@acme.example")

    account = User.objects.get(email="erin.new@acme.example")
    assert account.username == "erin3" and not account.is_active
    message = mail.outbox[-1]
    assert message.to == ["erin.new@acme.example"]
    assert "The username erin was taken, so yours is erin3" in message.body
    assert b"erin3" in client.get(_link(message)).content


def test_sign_up_still_refuses_other_domains_and_weak_passwords_with_the_form(client):
    answer = client.post(
        "/accounts/sign-up/",
        {
            "username": "mallory",
            "email": "mallory@evil.example",
            "password": "password",
            "password_again": "password",
        },
    )
    assert answer.status_code == 400
    assert b"Use your company e-mail address (@acme.example)" in answer.content
    assert b"too common" in answer.content
    assert not mail.outbox and not User.objects.filter(username="mallory").exists()


def test_user_sign_up_keeps_its_signature_and_returns_the_account_or_none():
    made = services.user_sign_up(
        username="gil",
        email="gil@acme.example",
        password=PASSPHRASE,
        activation_url_for=lambda uid, token: f"http://x/{uid}/{token}/",
    )
    assert made is not None and made.username == "gil" and not made.is_active
    again = services.user_sign_up(
        username="gil-again",
        email="Gil@acme.example",
        password=PASSPHRASE,
        activation_url_for=lambda uid, token: f"http://x/{uid}/{token}/",
    )
    assert again is None
    assert User.objects.filter(email__iexact="gil@acme.example").count() == 1


# --- Password reset by e-mail -----------------------------------------------------------------


def test_the_sign_in_page_links_to_password_reset(client):
    page = client.get("/accounts/sign-in/").content.decode()
    assert "Forgot your password?" in page and 'href="/accounts/password-reset/"' in page


def test_a_reset_link_works_once_and_the_new_password_signs_in(client, alice, password):
    alice.email = "alice@acme.example"
    alice.save()
    asked = client.post("/accounts/password-reset/", {"email": "ALICE@acme.example"})
    assert asked.status_code == 302 and asked["Location"] == "/accounts/password-reset/sent/"
    assert b"Check your e-mail" in client.get(asked["Location"]).content
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@acme.example"]
    link = _link(mail.outbox[0], "password-reset")

    form = client.get(link, follow=True)
    assert b"Choose a new password" in form.content
    new = "another-long-unusual-passphrase"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done["Location"] == "/accounts/password-reset/done/"

    assert b"not valid" in Client().get(link, follow=True).content  # spent
    sign_in = Client()
    old = sign_in.post("/accounts/sign-in/", {"username": "alice", "password": password})
    assert old.status_code == 200
    signed = sign_in.post("/accounts/sign-in/", {"username": "alice", "password": new})
    assert signed.status_code == 302


def test_an_unknown_address_gets_the_same_page_and_no_mail(client, alice):
    known = client.post("/accounts/password-reset/", {"email": alice.email}, follow=True)
    unknown = Client().post(
        "/accounts/password-reset/", {"email": "nobody@acme.example"}, follow=True
    )
    assert known.redirect_chain == unknown.redirect_chain
    assert _neutral(known, alice.email) == _neutral(unknown, "nobody@acme.example")
    assert [message.to for message in mail.outbox] == [[alice.email]]


def test_a_reset_clears_the_lockout_of_that_username(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/accounts/sign-in/", {"username": "alice", "password": "x"})
    client.post("/accounts/password-reset/", {"email": alice.email})
    form = client.get(_link(mail.outbox[0], "password-reset"), follow=True)
    new = "another-long-unusual-passphrase"
    client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    signed = client.post("/accounts/sign-in/", {"username": "alice", "password": new})
    assert signed.status_code == 302


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/password-reset/",
        "/accounts/password-reset/sent/",
        "/accounts/password-reset/done/",
        "/accounts/password-reset/MQ/set-password/",
    ],
)
def test_password_reset_is_not_found_where_password_sign_in_is_off(client, settings, url):
    settings.FLOCK_PASSWORD_SIGN_IN = False
    assert client.get(url).status_code == 404
    assert client.post(url, {"email": "alice@acme.example"}).status_code == 404
    assert not mail.outbox


def test_a_username_taken_between_the_check_and_the_insert_makes_sign_up_look_again(
    monkeypatch,
):
    """Two sign-ups for one username at once: the one whose insert fails starts over, in a new
    transaction, and gets the next free username instead of an error."""
    from annotation.services import accounts

    UserFactory(username="erin", email="erin.first@acme.example")
    real = accounts.username_free
    stale = iter(["erin"])  # what a check made just before the other sign-up committed saw
    monkeypatch.setattr(accounts, "username_free", lambda wanted: next(stale, None) or real(wanted))
    made = services.user_sign_up(
        username="erin",
        email="erin.second@acme.example",
        password=PASSPHRASE,
        activation_url_for=lambda uid, token: f"http://x/{uid}/{token}/",
    )
    assert made.username == "erin2"
    assert User.objects.filter(email__iexact="erin.second@acme.example").count() == 1
