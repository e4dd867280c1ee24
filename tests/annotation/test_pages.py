import re

import pytest
from django.core import mail

from annotation import services
from annotation.models import Entry, EntryStatus
from tests.factories import EntryFactory, category

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _closed_qa(**overrides):
    data = {
        "entry": "",
        "category": "closed_qa",
        "instruction": "When did Hubble launch?",
        "context": "The Hubble Space Telescope was launched into low Earth orbit in 1990.",
        "source_url": "https://en.wikipedia.org/wiki/Hubble_Space_Telescope",
        "response": "In 1990.",
    }
    data.update(overrides)
    return data


def test_pages_need_a_signed_in_user(client):
    for url in ["/write/", "/write/closed_qa/", "/entries/", "/accounts/profile/", "/agreement/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/sign-in/")
    assert not Entry.objects.exists()


def test_autosave_after_the_session_expired_says_so_in_the_page(client):
    response = client.post("/entries/autosave/", _closed_qa(), **HTMX)
    assert response.status_code == 401
    assert "you are signed out" in response.content.decode()
    assert not Entry.objects.exists()


def test_sign_in_and_out(client, alice, password):
    page = client.get("/accounts/sign-in/")
    assert b"Sign in" in page.content
    response = client.post("/accounts/sign-in/", {"username": "alice", "password": password})
    assert response.status_code == 302 and response["Location"] == "/write/"
    assert client.get("/write/").status_code == 200
    client.post("/accounts/sign-out/")
    assert client.get("/write/").status_code == 302


def test_wrong_password_says_so(client, alice):
    response = client.post("/accounts/sign-in/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_sign_up_is_off_without_company_domains(client, settings):
    settings.FLOCK_SIGNUP_EMAIL_DOMAINS = []
    assert client.get("/accounts/sign-up/").status_code == 404
    assert b"Sign up" not in client.get("/accounts/sign-in/").content


def test_sign_up_with_a_company_address_and_confirm_it(client, settings):
    settings.FLOCK_SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    form = {
        "username": "erin",
        "email": "erin@ACME.example",
        "display_name": "Erin",
        "password": "a-long-unusual-passphrase",
        "password_again": "a-long-unusual-passphrase",
    }
    response = client.post("/accounts/sign-up/", form)
    assert response.status_code == 200 and b"Check your e-mail" in response.content
    from django.contrib.auth import get_user_model

    erin = get_user_model().objects.get(username="erin")
    assert not erin.is_active
    assert erin.profile.display_name == "Erin"
    refused = client.post(
        "/accounts/sign-in/", {"username": "erin", "password": "a-long-unusual-passphrase"}
    )
    assert b"This account is not active" in refused.content

    link = re.search(r"http://testserver(/accounts/activate/\S+)", mail.outbox[0].body).group(1)
    assert client.get(link.replace("/activate/", "/activate/x")).status_code == 400
    assert b"Confirm my account" in client.get(link).content  # a GET only shows the button
    assert client.post(link)["Location"] == "/write/"
    assert client.get("/write/").status_code == 200


def test_sign_up_refuses_other_domains_and_keeps_the_form(client, settings):
    settings.FLOCK_SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    form = {
        "username": "mallory",
        "email": "mallory@acme.example.evil.test",
        "display_name": "Mal",
        "password": "a-long-unusual-passphrase",
        "password_again": "a-long-unusual-passphrase",
    }
    response = client.post("/accounts/sign-up/", form)
    assert response.status_code == 400
    assert b"Use your company e-mail address (@acme.example)" in response.content
    assert b'value="mallory"' in response.content
    assert not mail.outbox


def test_agreement_page_records_acceptance_and_returns_to_next(alice_client, alice):
    page = alice_client.get("/agreement/?next=/write/closed_qa/")
    assert b"CC-BY-SA 3.0" in page.content
    response = alice_client.post("/agreement/", {"version": "1", "next": "/write/closed_qa/"})
    assert response["Location"] == "/write/closed_qa/"
    assert alice.agreement_acceptances.get().agreement.version == "1"


def test_agreement_next_never_leaves_the_site(alice_client):
    response = alice_client.post("/agreement/", {"version": "1", "next": "https://evil.test/"})
    assert response["Location"] == "/write/"


def test_category_page_shows_guidelines_examples_and_progress(alice_client):
    page = alice_client.get("/write/").content.decode()
    for name in ["Closed QA", "Summarization", "Creative writing", "Brainstorming"]:
        assert name in page
    assert "still wanted" in page and "Guidelines and an example" in page
    assert "contributor agreement" in page  # alice has not accepted yet


def test_write_form_shows_context_only_where_the_category_takes_it(alice_client):
    closed = alice_client.get("/write/closed_qa/").content.decode()
    assert 'name="context"' in closed and 'name="source_url"' in closed
    assert 'data-max-chars="25000"' in closed
    brainstorm = alice_client.get("/write/brainstorming/").content.decode()
    assert 'name="context"' not in brainstorm
    assert alice_client.get("/write/no_such_thing/").status_code == 404


def test_autosave_creates_then_updates_one_draft(alice_client, alice):
    first = alice_client.post("/entries/autosave/", _closed_qa(response=""), **HTMX)
    assert first.status_code == 200
    entry = Entry.objects.get(author=alice)
    assert first["HX-Replace-Url"] == f"/entries/{entry.pk}/edit/"
    assert f'value="{entry.pk}"' in first.content.decode()

    second = alice_client.post(
        "/entries/autosave/", _closed_qa(entry=entry.pk, response="In 19"), **HTMX
    )
    assert second.status_code == 200
    entry.refresh_from_db()
    assert entry.response == "In 19"
    assert Entry.objects.filter(author=alice).count() == 1

    edit = alice_client.get(f"/entries/{entry.pk}/edit/").content.decode()
    assert "In 19</textarea>" in edit


def test_autosave_of_an_empty_form_creates_nothing(alice_client, alice):
    response = alice_client.post(
        "/entries/autosave/",
        {"entry": "", "category": "open_qa", "instruction": " ", "response": ""},
        **HTMX,
    )
    assert response.status_code == 200
    assert not Entry.objects.exists()


def test_autosave_cannot_touch_someone_elses_draft(alice_client, bob):
    theirs = EntryFactory(author=bob)
    response = alice_client.post(
        "/entries/autosave/", _closed_qa(entry=theirs.pk, response="mine"), **HTMX
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.response != "mine"
    assert alice_client.get(f"/entries/{theirs.pk}/edit/").status_code == 404
    assert alice_client.get(f"/entries/{theirs.pk}/").status_code == 404


def test_autosave_of_a_submitted_entry_says_why_it_was_not_saved(alice_client, alice):
    entry = EntryFactory(author=alice, status=EntryStatus.SUBMITTED)
    response = alice_client.post(
        "/entries/autosave/",
        {"entry": entry.pk, "category": "open_qa", "instruction": "x", "response": "y"},
        **HTMX,
    )
    assert response.status_code == 409
    assert "cannot be edited" in response.content.decode()


def test_submit_without_the_agreement_saves_the_draft_and_asks_for_it(alice_client, alice):
    response = alice_client.post("/entries/submit/", _closed_qa())
    entry = Entry.objects.get(author=alice)
    assert entry.status == EntryStatus.DRAFT
    assert response["Location"] == f"/agreement/?next=%2Fentries%2F{entry.pk}%2Fedit%2F"


def test_a_failed_submit_shows_errors_beside_fields_and_keeps_the_text(alice_client, agreed):
    typed = _closed_qa(context="", source_url="", response="In 1990, from memory.\r\n")
    response = alice_client.post("/entries/submit/", typed)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_context_error"' in page and "needs a reference passage" in page
    assert "When did Hubble launch?</textarea>" in page
    assert "In 1990, from memory." in page
    entry = Entry.objects.get(author=agreed)
    assert entry.status == EntryStatus.DRAFT
    assert f'name="entry" value="{entry.pk}"' in page

    # Fixing it and submitting again uses the same draft.
    response = alice_client.post("/entries/submit/", _closed_qa(entry=entry.pk))
    assert response["Location"] == "/entries/?status=submitted&written_in=closed_qa"
    assert Entry.objects.get(author=agreed).status == EntryStatus.SUBMITTED


def test_the_autosave_takes_citation_markers_out_of_the_passage_and_says_so(alice_client, agreed):
    typed = _closed_qa(context="Hubble was launched in 1990.[1][citation needed]\r\nIt orbits.")
    response = alice_client.post("/entries/autosave/", typed)
    assert response.status_code == 200
    status = response.content.decode()
    assert "Citation markers taken out of the passage: [1], [citation needed]." in status
    entry = Entry.objects.get(author=agreed)
    assert entry.context == "Hubble was launched in 1990.\nIt orbits."
    # The page gets the passage as sent and as saved, to show the saved one.
    assert (
        '<template id="context-cleaned">Hubble was launched in 1990.\nIt orbits.</template>'
        in status
    )


def test_a_response_repeating_the_instruction_is_refused_beside_the_field(alice_client, agreed):
    typed = _closed_qa(response="When did Hubble launch?")
    response = alice_client.post("/entries/submit/", typed)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_response_error"' in page and "repeats the instruction" in page
    assert Entry.objects.get(author=agreed).status == EntryStatus.DRAFT


def test_my_entries_lists_by_status(alice_client, alice, bob):
    EntryFactory(author=alice, instruction="My draft question")
    EntryFactory(author=alice, status=EntryStatus.SUBMITTED, instruction="My submitted one")
    EntryFactory(author=alice, status=EntryStatus.REJECTED, instruction="My rejected one")
    EntryFactory(author=bob, instruction="Bob's secret draft")
    everything = alice_client.get("/entries/").content.decode()
    assert "My draft question" in everything and "My rejected one" in everything
    assert "Bob&#x27;s secret draft" not in everything and "Bob's secret draft" not in everything
    submitted = alice_client.get("/entries/?status=submitted").content.decode()
    assert "My submitted one" in submitted and "My draft question" not in submitted


def test_withdraw_and_revise_from_the_entry_page(alice_client, alice):
    entry = EntryFactory(author=alice, status=EntryStatus.SUBMITTED)
    assert b"Withdraw from review" in alice_client.get(f"/entries/{entry.pk}/").content
    alice_client.post(f"/entries/{entry.pk}/withdraw/", {"confirm": "yes"})
    entry.refresh_from_db()
    assert entry.status == EntryStatus.WITHDRAWN
    response = alice_client.post(f"/entries/{entry.pk}/reopen/")
    assert response["Location"] == f"/entries/{entry.pk}/edit/"
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DRAFT
    assert alice_client.post(f"/entries/{entry.pk}/explode/").status_code == 404
    # A second withdraw of a draft is refused with a message, not an error page.
    response = alice_client.post(f"/entries/{entry.pk}/withdraw/", {"confirm": "yes"}, follow=True)
    assert b"cannot be withdrawn" in response.content


def test_profile_page_saves_display_name_and_leaderboard_choice(alice_client, alice):
    response = alice_client.post(
        "/accounts/profile/", {"display_name": "Alice M.", "team": "", "show_on_leaderboard": ""}
    )
    assert response.status_code == 302
    profile = services.profile_ensure(user=alice)
    assert (profile.display_name, profile.show_on_leaderboard) == ("Alice M.", False)


def test_one_page_makes_one_draft_however_its_saves_race(alice_client, alice):
    key = "8f7f3c1e-9d1b-4a59-9a57-1d2b3c4d5e6f"
    # The first autosave has not answered yet, so neither the next autosave nor the submit
    # button knows the draft's id; the page's draft key ties them together.
    alice_client.post("/entries/autosave/", _closed_qa(draft_key=key, response="In 19"), **HTMX)
    alice_client.post("/entries/autosave/", _closed_qa(draft_key=key, response="In 1990"), **HTMX)
    alice_client.post("/entries/submit/", _closed_qa(draft_key=key, response="In 1990."))
    entry = Entry.objects.get(author=alice)
    assert entry.response == "In 1990."
    assert str(entry.draft_key) == key


def test_a_draft_key_is_per_author(alice_client, alice, bob):
    key = "8f7f3c1e-9d1b-4a59-9a57-1d2b3c4d5e6f"
    theirs = EntryFactory(author=bob, draft_key=key)
    alice_client.post("/entries/autosave/", _closed_qa(draft_key=key), **HTMX)
    theirs.refresh_from_db()
    assert theirs.instruction != _closed_qa()["instruction"]
    assert Entry.objects.filter(author=alice).count() == 1


def test_a_passage_left_on_a_category_without_context_can_be_seen_and_cleared(alice_client, agreed):
    entry = EntryFactory(
        author=agreed,
        category=category("creative_writing"),
        instruction="Write a haiku about autumn.",
        response="Leaves fall, slow and red",
        context="A passage pasted before the policy changed.",
        source_url="https://en.wikipedia.org/wiki/Haiku",
    )
    edit = alice_client.get(f"/entries/{entry.pk}/edit/").content.decode()
    assert "A passage pasted before the policy changed.</textarea>" in edit

    post = {
        "entry": entry.pk,
        "category": "creative_writing",
        "instruction": entry.instruction,
        "response": entry.response,
        "context": entry.context,
        "source_url": entry.source_url,
    }
    response = alice_client.post("/entries/submit/", post)
    assert response.status_code == 400
    assert "takes no reference passage" in response.content.decode()

    response = alice_client.post("/entries/submit/", {**post, "context": "", "source_url": ""})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.context) == (EntryStatus.SUBMITTED, "")


def test_submitting_an_entry_already_submitted_elsewhere_keeps_the_text(alice_client, alice):
    entry = EntryFactory(author=alice, status=EntryStatus.SUBMITTED)
    post = {"entry": entry.pk, "category": "open_qa", "instruction": "Typed in an old tab"}
    response = alice_client.post("/entries/submit/", {**post, "response": "and kept."})
    assert response.status_code == 409
    page = response.content.decode()
    assert "cannot be edited" in page and "Typed in an old tab</textarea>" in page


def test_an_overlong_source_url_is_a_message_not_a_crash(alice_client, alice):
    url = "https://en.wikipedia.org/wiki/" + "x" * 2000
    response = alice_client.post("/entries/autosave/", _closed_qa(source_url=url), **HTMX)
    assert response.status_code == 400
    assert "Keep the web address to 2,000 characters" in response.content.decode()


def test_an_unconfirmed_account_is_told_why_it_cannot_sign_in(client, alice, password):
    alice.is_active = False
    alice.save()
    response = client.post("/accounts/sign-in/", {"username": "alice", "password": password})
    assert b"This account is not active" in response.content
    wrong = client.post("/accounts/sign-in/", {"username": "alice", "password": "nope"})
    assert b"This account is not active" not in wrong.content
