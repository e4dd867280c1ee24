import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from annotation import selectors, services
from annotation.models import AgreementAcceptance, ContributorAgreement, EntryStatus, Revision
from config.errors import ActionForbidden, StateConflict
from tests.factories import EntryFactory, category

CLOSED_QA = {
    "instruction": "When did Hubble launch?",
    "context": "The Hubble Space Telescope was launched into low Earth orbit in 1990.",
    "source_url": "https://en.wikipedia.org/wiki/Hubble_Space_Telescope",
    "response": "In 1990.",
}


def _draft(author, slug="closed_qa", **values):
    return services.entry_create(author=author, category=category(slug), values=values or CLOSED_QA)


def test_alice_writes_a_draft_and_submits_it(agreed):
    entry = _draft(agreed)
    assert entry.status == EntryStatus.DRAFT
    assert entry.submitted_at is None

    services.entry_submit(entry=entry, actor=agreed)

    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED
    assert entry.submitted_at is not None
    assert [e.pk for e in selectors.entry_list_for_author(author=agreed, status="submitted")] == [
        entry.pk
    ]


def test_every_text_change_is_an_immutable_revision_and_unchanged_saves_add_none(alice):
    entry = _draft(alice, "open_qa", instruction="Why is the sky blue?")
    services.entry_update(entry=entry, actor=alice, values={"response": "Rayleigh scattering."})
    services.entry_update(entry=entry, actor=alice, values={"response": "Rayleigh scattering."})
    services.entry_update(entry=entry, actor=alice, values={"response": "Rayleigh scattering!"})

    revisions = list(Revision.objects.filter(entry=entry).order_by("number"))
    assert [r.number for r in revisions] == [1, 2, 3]
    assert [r.response for r in revisions] == ["", "Rayleigh scattering.", "Rayleigh scattering!"]
    assert all(r.instruction == "Why is the sky blue?" for r in revisions)
    assert all(r.author == alice for r in revisions)


def test_an_empty_draft_has_no_revision_until_text_arrives(alice):
    entry = services.entry_create(author=alice, category=category("open_qa"), values={})
    assert entry.revisions.count() == 0


def test_text_is_normalised_when_saved(alice):
    entry = _draft(alice, "open_qa", instruction="Cafe\u0301?\r\nReally\x07?", response="Yes.\r\n")
    assert entry.instruction == "Caf\u00e9?\nReally?"
    assert entry.response == "Yes.\n"


def test_submit_requires_the_current_agreement(alice):
    entry = _draft(alice)
    with pytest.raises(ActionForbidden, match="contributor agreement"):
        services.entry_submit(entry=entry, actor=alice)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DRAFT
    assert entry.instruction == CLOSED_QA["instruction"]


def test_a_new_agreement_version_asks_again(agreed):
    ContributorAgreement.objects.create(version="2", text="New terms.", published_at=timezone.now())
    assert not selectors.agreement_status(user=agreed).accepted
    with pytest.raises(ActionForbidden):
        services.entry_submit(entry=_draft(agreed), actor=agreed)

    acceptance = services.agreement_accept(user=agreed, version="2")
    assert acceptance.agreement.version == "2"
    assert acceptance.accepted_at is not None
    assert selectors.agreement_status(user=agreed).accepted
    assert AgreementAcceptance.objects.filter(user=agreed).count() == 2


def test_an_agreement_published_in_the_future_is_not_in_force_yet(agreed):
    ContributorAgreement.objects.create(
        version="3", text="Later.", published_at=timezone.now() + datetime.timedelta(days=1)
    )
    assert selectors.agreement_status(user=agreed).current.version == "1"
    assert selectors.agreement_status(user=agreed).accepted


def test_accepting_a_version_that_is_not_in_force_is_refused(alice):
    with pytest.raises(StateConflict, match="not the agreement in force"):
        services.agreement_accept(user=alice, version="0")
    assert not AgreementAcceptance.objects.filter(user=alice).exists()


def test_accepting_twice_keeps_one_acceptance(alice):
    first = services.agreement_accept(user=alice)
    again = services.agreement_accept(user=alice)
    assert first.pk == again.pk


def test_a_failed_submit_keeps_the_draft_and_its_text(agreed):
    entry = _draft(agreed, instruction="Q?", response="A.", context="", source_url="")
    with pytest.raises(ValidationError) as caught:
        services.entry_submit(entry=entry, actor=agreed)
    assert "context" in caught.value.message_dict
    entry.refresh_from_db()
    assert (entry.status, entry.instruction, entry.response) == (EntryStatus.DRAFT, "Q?", "A.")


def test_only_drafts_can_be_edited(agreed):
    entry = _draft(agreed)
    services.entry_submit(entry=entry, actor=agreed)
    with pytest.raises(StateConflict, match="submitted entry cannot be edited"):
        services.entry_update(entry=entry, actor=agreed, values={"response": "Changed."})
    entry.refresh_from_db()
    assert entry.response == CLOSED_QA["response"]


def test_submitting_twice_is_refused(agreed):
    entry = _draft(agreed)
    services.entry_submit(entry=entry, actor=agreed)
    with pytest.raises(StateConflict):
        services.entry_submit(entry=entry, actor=agreed)


def test_nobody_but_the_author_can_change_an_entry(alice, bob):
    entry = _draft(alice)
    services.agreement_accept(user=bob)
    for action in (services.entry_submit, services.entry_delete, services.entry_withdraw):
        with pytest.raises(ActionForbidden):
            action(entry=entry, actor=bob)
    with pytest.raises(ActionForbidden):
        services.entry_update(entry=entry, actor=bob, values={"response": "mine now"})
    entry.refresh_from_db()
    assert entry.response == CLOSED_QA["response"]


def test_withdraw_then_revise_then_resubmit(agreed):
    entry = _draft(agreed)
    services.entry_submit(entry=entry, actor=agreed)
    services.entry_withdraw(entry=entry, actor=agreed)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.WITHDRAWN

    services.entry_reopen(entry=entry, actor=agreed)
    services.entry_update(entry=entry, actor=agreed, values={"response": "It launched in 1990."})
    services.entry_submit(entry=entry, actor=agreed)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED
    assert entry.response == "It launched in 1990."


def test_a_rejected_entry_can_be_revised_and_resubmitted(agreed):
    entry = EntryFactory(author=agreed, status=EntryStatus.REJECTED)
    services.entry_reopen(entry=entry, actor=agreed)
    services.entry_update(entry=entry, actor=agreed, values={"response": "Exactly 100 °C."})
    services.entry_submit(entry=entry, actor=agreed)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED


def test_drafts_can_be_deleted_but_not_submitted_entries(agreed):
    draft = _draft(agreed)
    services.entry_delete(entry=draft, actor=agreed)
    assert not selectors.entry_list_for_author(author=agreed).exists()

    entry = _draft(agreed)
    services.entry_submit(entry=entry, actor=agreed)
    with pytest.raises(StateConflict):
        services.entry_delete(entry=entry, actor=agreed)


def test_an_absurdly_long_draft_is_refused_but_a_long_one_is_kept(alice):
    entry = _draft(alice, "open_qa", instruction="x" * 5000)
    assert len(entry.instruction) == 5000
    with pytest.raises(ValidationError):
        services.entry_update(entry=entry, actor=alice, values={"response": "y" * 200_001})


def test_category_progress_counts_and_orders_by_need(alice):
    for _ in range(3):
        EntryFactory(author=alice, category=category("creative_writing"), status="accepted")
    EntryFactory(author=alice, category=category("creative_writing"), status="submitted")
    EntryFactory(author=alice, category=category("creative_writing"), status="draft")
    cats = {c.slug: c for c in selectors.category_list_with_progress()}
    creative = cats["creative_writing"]
    assert (creative.accepted_count, creative.submitted_count) == (3, 1)
    assert creative.remaining == creative.target_count - 4

    open_qa = category("open_qa")
    open_qa.target_count = 4
    open_qa.save()
    EntryFactory(author=alice, category=open_qa, status="accepted")
    EntryFactory(author=alice, category=open_qa, status="submitted")
    selectors.category_counts_forget()  # counted a moment ago: cached for a while
    order = [c.slug for c in selectors.category_list_with_progress()]
    assert order.index("open_qa") == len(order) - 1  # half done: the least needed


def test_category_counts_are_counted_once_for_a_while_then_again(alice, settings):
    settings.FLOCK_CATEGORY_COUNTS_SECONDS = 30
    writing = category("creative_writing")
    EntryFactory(author=alice, category=writing, status="accepted")

    def counts():
        shown = {c.slug: c for c in selectors.category_list_with_progress()}["creative_writing"]
        return shown.accepted_count, shown.submitted_count

    assert counts() == (1, 0)
    EntryFactory(author=alice, category=writing, status="submitted")
    assert counts() == (1, 0)  # the counts of a moment ago, not a count per page
    # Where the cache is Redis it lets go by itself after the setting's seconds; forgetting is
    # the same for the next page.
    selectors.category_counts_forget()
    assert counts() == (1, 1)

    settings.FLOCK_CATEGORY_COUNTS_SECONDS = 0  # counted on every page
    EntryFactory(author=alice, category=writing, status="accepted")
    assert counts() == (2, 1)


def test_profile_is_made_on_first_use_and_updates(alice):
    profile = services.profile_ensure(user=alice)
    assert profile.name == "alice"
    services.profile_update(
        user=alice, display_name=" Alice M ", team=None, show_on_leaderboard=False
    )
    profile.refresh_from_db()
    assert (profile.name, profile.show_on_leaderboard) == ("Alice M", False)
