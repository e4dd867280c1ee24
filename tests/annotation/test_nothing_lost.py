"""Nothing lost while writing: the draft's version check, autosaves folding into one revision
per editing session, restoring a revision, and a sign-in whose `next` is a POST-only URL."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation import selectors, services
from annotation.models import Entry, EntryStatus, Revision
from annotation.services.entries import DRAFT_SESSION
from config.errors import StateConflict
from tests.factories import category

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _page(entry, **values):
    """What the writing page posts for `entry`, at the version it last saw."""
    data = {
        "entry": str(entry.pk),
        "category": entry.category.slug,
        "version": selectors.draft_version(entry=entry),
        "instruction": entry.instruction,
        "context": entry.context,
        "source_url": entry.source_url,
        "response": entry.response,
    }
    data.update(values)
    return data


def _draft(author, **values):
    return services.entry_create(
        author=author,
        category=category("open_qa"),
        values={"instruction": "Why is the sky blue?", **values},
    )


def _autosave_as_read(read, author, response: str):
    """What the writing page's autosave does with the draft `read` as its look-up read it: save
    the page's text at the version it saw, folding into this editing session's revision."""
    return services.entry_update(
        entry=read,
        actor=author,
        values={"response": response},
        version=selectors.draft_version(entry=read),
        fold=True,
    )


def _autosave(client, data):
    return client.post("/entries/autosave/", data, **HTMX)


# --- the version check ------------------------------------------------------------------------


def test_a_stale_autosave_is_refused_with_409_and_both_texts(alice_client, alice):
    entry = _draft(alice)
    first_tab = _page(entry, response="Rayleigh scattering, from tab one.")
    second_tab = _page(entry, response="Because of the ocean, from tab two.")

    assert _autosave(alice_client, first_tab).status_code == 200
    response = _autosave(alice_client, second_tab)

    assert response.status_code == 409
    body = response.content.decode()
    assert "changed in another tab" in body
    # The other tab's text comes back for the page to show beside its own, which stays posted.
    assert "Rayleigh scattering, from tab one." in body
    entry.refresh_from_db()
    assert entry.response == "Rayleigh scattering, from tab one."
    assert response["X-Draft-Version"] == selectors.draft_version(entry=entry)


def test_a_fresh_autosave_saves_and_answers_the_new_version(alice_client, alice):
    entry = _draft(alice)
    response = _autosave(alice_client, _page(entry, response="Rayleigh."))
    assert response.status_code == 200
    entry.refresh_from_db()
    assert entry.response == "Rayleigh."
    version = selectors.draft_version(entry=entry)
    assert response["X-Draft-Version"] == version
    assert f'value="{version}"' in response.content.decode()
    # The next save from the same page, at its new version, saves too.
    again = _autosave(alice_client, {**_page(entry), "response": "Rayleigh scattering."})
    assert again.status_code == 200


def test_a_stale_page_sending_the_stored_text_is_not_a_conflict(alice_client, alice):
    entry = _draft(alice)
    stale = _page(entry, response="Rayleigh.")
    assert _autosave(alice_client, stale).status_code == 200
    assert _autosave(alice_client, stale).status_code == 200


def test_a_stale_submit_shows_both_texts_and_submits_nothing(alice_client, agreed):
    entry = _draft(agreed)
    stale = _page(entry, response="Mine, typed in the old tab.")
    services.entry_update(entry=entry, actor=agreed, values={"response": "From the other tab."})

    response = alice_client.post("/entries/submit/", stale)

    assert response.status_code == 409
    body = response.content.decode()
    assert "Mine, typed in the old tab." in body and "From the other tab." in body
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DRAFT
    assert entry.response == "From the other tab."


# The usual autosave saves without a lock or a second read (services/entries.py,
# _save_as_seen): its UPDATE holds only while the draft is still the version the page saw. A
# save that lands between the autosave's read of the draft and that UPDATE wins, as it does
# under the lock.


def test_an_autosave_at_the_version_it_read_updates_without_reading_the_draft_again(alice):
    entry = _draft(alice)
    read = Entry.objects.get(pk=entry.pk)
    with CaptureQueriesContext(connection) as queries:
        _autosave_as_read(read, alice, "Rayleigh.")
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    assert "SELECT" not in statements and statements.count("UPDATE") == 2  # the draft, its fold
    entry.refresh_from_db()
    assert (entry.response, selectors.draft_version(entry=entry)) == (
        "Rayleigh.",
        selectors.draft_version(entry=read),
    )
    assert [r.response for r in Revision.objects.filter(entry=entry)] == ["Rayleigh."]


def test_a_save_between_an_autosaves_read_and_its_update_is_not_overwritten(alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        entry = _draft(alice)
        read = Entry.objects.get(pk=entry.pk)  # the autosave's read, before the other tab saved
        clock.shift(datetime.timedelta(seconds=1))
        services.entry_update(entry=entry, actor=alice, values={"response": "From the other tab."})

        with pytest.raises(services.DraftChanged):
            _autosave_as_read(read, alice, "Mine.")

    entry.refresh_from_db()
    assert entry.response == "From the other tab."
    assert [r.response for r in Revision.objects.filter(entry=entry)] == ["", "From the other tab."]


def test_a_draft_submitted_between_an_autosaves_read_and_its_update_is_left_as_submitted(agreed):
    # In the same instant: the submit leaves `updated_at` as the autosave read it, so the state
    # alone must stop the UPDATE.
    with time_machine.travel(timezone.now(), tick=False):
        entry = _draft(agreed, response="Because of Rayleigh scattering.")
        read = Entry.objects.get(pk=entry.pk)
        services.entry_submit(entry=entry, actor=agreed)
        assert Entry.objects.get(pk=entry.pk).updated_at == read.updated_at

        with pytest.raises(StateConflict):
            _autosave_as_read(read, agreed, "Typed on.")

    entry.refresh_from_db()
    assert (entry.status, entry.response) == (
        EntryStatus.SUBMITTED,
        "Because of Rayleigh scattering.",
    )


def test_an_autosave_folds_into_a_revision_added_in_the_same_instant_after_its_read(alice):
    with time_machine.travel(timezone.now(), tick=False):
        entry = _draft(alice, response="First.")
        services.entry_update(entry=entry, actor=alice, values={"response": "Second."})
        read = Entry.objects.get(pk=entry.pk)
        services.revision_restore(entry=entry, actor=alice, number=1)  # r3, same `updated_at`
        _autosave_as_read(read, alice, "Third.")

    revisions = Revision.objects.filter(entry=entry).order_by("number")
    assert [r.response for r in revisions] == ["First.", "Second.", "Third."]


# --- one revision per editing session ------------------------------------------------------------


def test_autosaves_of_one_session_make_one_revision(alice_client, alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        entry = _draft(alice)
        for n in range(5):
            clock.shift(datetime.timedelta(seconds=30))
            entry.refresh_from_db()
            assert _autosave(alice_client, _page(entry, response=f"Draft {n}")).status_code == 200

    revisions = list(Revision.objects.filter(entry=entry))
    assert [r.number for r in revisions] == [1]
    assert revisions[0].response == "Draft 4"


def test_a_pause_longer_than_the_session_starts_a_new_revision(alice_client, alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        entry = _draft(alice)
        _autosave(alice_client, _page(entry, response="Before lunch."))
        clock.shift(DRAFT_SESSION + datetime.timedelta(seconds=1))
        entry.refresh_from_db()
        _autosave(alice_client, _page(entry, response="After lunch."))

    revisions = list(Revision.objects.filter(entry=entry))
    assert [(r.number, r.response) for r in revisions] == [
        (1, "Before lunch."),
        (2, "After lunch."),
    ]


def test_a_reviewers_fix_and_the_submitted_text_are_never_folded(alice_client, agreed, carol, bob):
    from annotation.models import Verdict

    services.agreement_accept(user=bob)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        entry = _draft(agreed, response="Rayleigh scattering.")
        services.entry_submit(entry=entry, actor=agreed)
        services.review_record(
            entry=entry,
            reviewer=bob,
            verdict=Verdict.APPROVE,
            rating=4,
            fix_values={"response": "Rayleigh scattering of sunlight."},
        )
        services.entry_decide(entry=entry, moderator=carol, verdict="reject", reason="Say more.")
        entry.refresh_from_db()
        services.entry_reopen(entry=entry, actor=agreed)
        clock.shift(datetime.timedelta(seconds=30))
        entry.refresh_from_db()
        _autosave(alice_client, _page(entry, response="Rayleigh scattering, explained."))
        entry.refresh_from_db()
        _autosave(alice_client, _page(entry, response="Rayleigh scattering, explained well."))

    revisions = list(Revision.objects.filter(entry=entry).order_by("number"))
    assert [(r.author, r.response) for r in revisions] == [
        (agreed, "Rayleigh scattering."),
        (bob, "Rayleigh scattering of sunlight."),
        (agreed, "Rayleigh scattering, explained well."),
    ]


def test_a_revision_that_is_a_reviews_fix_is_never_folded_into(alice_client, agreed, bob):
    """The fold's own condition, whoever wrote the revision: no later autosave may rewrite the
    text a review holds as its fix."""
    from annotation.models import Review, Verdict

    with time_machine.travel(timezone.now(), tick=False) as clock:
        entry = _draft(agreed, response="Rayleigh scattering.")
        held = Revision.objects.get(entry=entry)
        Review.objects.create(
            entry=entry, reviewer=bob, round=1, verdict=Verdict.APPROVE, rating=4, fix=held
        )
        clock.shift(datetime.timedelta(seconds=10))
        entry.refresh_from_db()
        _autosave(alice_client, _page(entry, response="Rayleigh scattering, explained."))

    held.refresh_from_db()
    assert held.response == "Rayleigh scattering."
    assert Revision.objects.filter(entry=entry).count() == 2


def test_the_submitted_revision_is_not_folded_into_after_reopening(alice_client, agreed):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        entry = _draft(agreed, response="Rayleigh scattering.")
        services.entry_submit(entry=entry, actor=agreed)
        services.entry_withdraw(entry=entry, actor=agreed)
        services.entry_reopen(entry=entry, actor=agreed)
        clock.shift(datetime.timedelta(seconds=10))
        entry.refresh_from_db()
        _autosave(alice_client, _page(entry, response="Rayleigh scattering, revised."))

    assert [r.response for r in Revision.objects.filter(entry=entry)] == [
        "Rayleigh scattering.",
        "Rayleigh scattering, revised.",
    ]


# --- opening and restoring a revision ----------------------------------------------------------


def _two_revisions(author):
    entry = _draft(author, response="First answer.")
    return services.entry_update(entry=entry, actor=author, values={"response": "Second answer."})


def test_the_author_opens_a_revision_and_restores_it_as_a_new_revision(alice_client, alice):
    entry = _two_revisions(alice)
    page = alice_client.get(f"/entries/{entry.pk}/")
    assert f'href="/entries/{entry.pk}/revisions/1/"' in page.content.decode()
    opened = alice_client.get(f"/entries/{entry.pk}/revisions/1/")
    assert opened.status_code == 200
    assert "First answer." in opened.content.decode()

    response = alice_client.post(f"/entries/{entry.pk}/revisions/1/restore/")

    assert response.status_code == 302
    assert response["Location"] == f"/entries/{entry.pk}/edit/"
    entry.refresh_from_db()
    assert entry.response == "First answer."
    assert [(r.number, r.response) for r in Revision.objects.filter(entry=entry)] == [
        (1, "First answer."),
        (2, "Second answer."),
        (3, "First answer."),
    ]


def test_only_the_author_may_open_or_restore_a_revision(client, bob, alice, password):
    entry = _two_revisions(alice)
    client.force_login(bob)
    assert client.get(f"/entries/{entry.pk}/revisions/1/").status_code == 404
    assert client.post(f"/entries/{entry.pk}/revisions/1/restore/").status_code == 404
    client.force_login(alice)
    assert client.get(f"/entries/{entry.pk}/revisions/9/").status_code == 404
    assert client.get(f"/entries/{entry.pk}/revisions/1/restore/").status_code == 405
    entry.refresh_from_db()
    assert entry.response == "Second answer."


def test_a_revision_is_restored_only_while_the_entry_is_a_draft(alice_client, agreed):
    entry = _two_revisions(agreed)
    services.entry_submit(entry=entry, actor=agreed)
    opened = alice_client.get(f"/entries/{entry.pk}/revisions/1/")
    assert opened.status_code == 200
    assert "Restore this revision" not in opened.content.decode()
    assert alice_client.post(f"/entries/{entry.pk}/revisions/1/restore/").status_code == 404
    assert Revision.objects.filter(entry=entry).count() == 2


# --- signed out ---------------------------------------------------------------------------------


def test_a_signed_out_submit_keeps_the_text_on_the_page(client, alice):
    entry = _draft(alice)
    response = client.post("/entries/submit/", _page(entry, response="Typed after sign-out."))
    assert response.status_code == 401
    body = response.content.decode()
    assert "you are signed out" in body
    assert "Typed after sign-out." in body
    assert 'target="_blank"' in body


def test_a_sign_in_whose_next_is_the_post_only_submit_lands_on_my_entries(client, alice, password):
    response = client.post(
        "/accounts/sign-in/?next=/entries/submit/",
        {"username": alice.username, "password": password, "next": "/entries/submit/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/entries/"
    assert client.get(response["Location"]).status_code == 200


def test_a_sign_in_whose_next_is_a_page_still_lands_there(client, alice, password):
    response = client.post(
        "/accounts/sign-in/", {"username": alice.username, "password": password, "next": "/write/"}
    )
    assert response["Location"] == "/write/"


def test_the_signed_out_page_keeps_the_version_it_was_at(client, alice):
    """Signed in again, the next save is still checked against what another tab saved."""
    entry = _draft(alice)
    posted = _page(entry, response="Typed after sign-out.")
    response = client.post("/entries/submit/", posted)
    assert f'value="{posted["version"]}"' in response.content.decode()


def test_an_autosave_is_answered_as_saved_when_an_addition_to_its_answer_fails(
    alice_client, alice, caplog
):
    """Other apps add to a saved autosave's answer (quality's similarity warning,
    annotation.events.draft_autosaved); one that fails is logged and left out, and the answer
    still says the draft is saved, as it is."""
    from annotation.events import draft_autosaved

    def broken(sender, **kwargs):
        raise RuntimeError("the similarity index is unreachable")

    draft_autosaved.connect(broken, dispatch_uid="test.broken")
    try:
        entry = _draft(alice)
        response = _autosave(alice_client, _page(entry, response="Rayleigh scattering."))
    finally:
        draft_autosaved.disconnect(dispatch_uid="test.broken")
    assert response.status_code == 200
    assert "saved at" in response.content.decode()
    entry.refresh_from_db()
    assert entry.response == "Rayleigh scattering."
    assert "failed on an autosave" in caplog.text
