import datetime

import pytest
from django.db import IntegrityError
from django.utils import timezone

from annotation import selectors, services
from annotation.models import Decision, Entry, EntryStatus, Notification, Review, Revision
from config.errors import ActionForbidden, StateConflict
from tests.factories import EntryFactory, UserFactory, approve, category, reject, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def erin(db):
    return UserFactory(username="erin")


# --- Consensus -------------------------------------------------------------------------------


def test_two_approvals_accept(alice, bob, carol):
    entry = submitted(alice)
    approve(entry, bob)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED and entry.review_count == 1
    approve(entry, carol)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED
    decision = Decision.objects.get(entry=entry)
    assert (decision.outcome, decision.approvals, decision.rejections) == ("accepted", 2, 0)
    assert decision.decided_by is None
    assert entry.decided_at == decision.created_at


def test_two_rejections_reject(alice, bob, carol):
    entry = submitted(alice)
    reject(entry, bob)
    reject(entry, carol, reasons=["low_effort", "other"])
    entry.refresh_from_db()
    assert entry.status == EntryStatus.REJECTED
    assert Decision.objects.get(entry=entry).outcome == "rejected"


def test_a_split_vote_waits_until_approvals_outnumber_rejections(alice, bob, carol, dave):
    entry = submitted(alice)
    approve(entry, bob)
    reject(entry, carol)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED
    assert not Decision.objects.filter(entry=entry).exists()
    approve(entry, dave)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED
    assert Decision.objects.get(entry=entry).approvals == 2


def test_thresholds_are_settings(alice, bob, carol, dave, settings):
    settings.FLOCK_ACCEPT_APPROVALS = 3
    entry = submitted(alice)
    approve(entry, bob)
    approve(entry, carol)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED
    approve(entry, dave)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED


def test_a_decided_entry_takes_no_more_reviews(alice, bob, carol, dave):
    entry = submitted(alice)
    approve(entry, bob)
    approve(entry, carol)
    with pytest.raises(StateConflict, match="not under review"):
        reject(entry, dave)
    assert Review.objects.filter(entry=entry).count() == 2
    assert Decision.objects.filter(entry=entry).count() == 1


def test_one_review_per_reviewer_and_entry(alice, bob):
    entry = submitted(alice)
    approve(entry, bob)
    with pytest.raises(StateConflict, match="already reviewed"):
        reject(entry, bob)
    assert Review.objects.filter(entry=entry, reviewer=bob).count() == 1


def test_the_database_refuses_a_second_review_row_too(alice, bob):
    entry = submitted(alice)
    approve(entry, bob)
    with pytest.raises(IntegrityError):
        Review.objects.create(entry=entry, reviewer=bob, round=1, verdict="approve", rating=5)


def test_a_second_review_the_check_missed_is_refused_and_keeps_nothing_of_it(
    alice, bob, monkeypatch, django_capture_on_commit_callbacks
):
    """The check before the insert reads under the entry's lock; should a second review row
    still reach the database, its refusal is a StateConflict and the whole review goes, its
    fix with it (the transaction is rolled back as the error leaves it)."""
    from django.db.models.query import QuerySet

    entry = services.entry_create(
        author=alice, category=category("open_qa"), values={"instruction": "Capital of France?"}
    )
    services.entry_update(entry=entry, actor=alice, values={"response": "Paris."})
    services.agreement_accept(user=alice)
    services.entry_submit(entry=entry, actor=alice)
    services.agreement_accept(user=bob)
    Review.objects.create(entry=entry, reviewer=bob, round=1, verdict="approve", rating=5)
    real_exists = QuerySet.exists
    monkeypatch.setattr(
        QuerySet, "exists", lambda qs: False if qs.model is Review else real_exists(qs)
    )

    with (
        django_capture_on_commit_callbacks() as scheduled,
        pytest.raises(StateConflict, match="already reviewed"),
    ):
        approve(entry, bob, fix_values={"instruction": "What is the capital of France?"})

    assert scheduled == []  # the fix's e-mail to the author went with the rollback
    assert not Notification.objects.filter(recipient=alice).exists()
    entry.refresh_from_db()
    assert entry.instruction == "Capital of France?" and entry.review_count == 0
    assert Revision.objects.filter(entry=entry).count() == 2
    assert Review.objects.filter(entry=entry).count() == 1


def test_nobody_reviews_their_own_entry(alice):
    entry = submitted(alice)
    with pytest.raises(ActionForbidden, match="own entry"):
        approve(entry, alice)
    assert not Review.objects.exists()


def test_drafts_cannot_be_reviewed(alice, bob):
    with pytest.raises(StateConflict):
        approve(EntryFactory(author=alice), bob)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"verdict": "maybe", "rating": 3}, "verdict"),
        ({"verdict": "approve", "rating": 0}, "rating"),
        ({"verdict": "approve", "rating": 6}, "rating"),
        ({"verdict": "approve", "rating": "five"}, "rating"),
        ({"verdict": "reject", "rating": 2}, "reasons"),
        ({"verdict": "reject", "rating": 2, "reasons": ["boring"]}, "reasons"),
        ({"verdict": "approve", "rating": 4, "comment": "x" * 5001}, "comment"),
        (
            {
                "verdict": "reject",
                "rating": 2,
                "reasons": ["other"],
                "fix_values": {"response": "Mine."},
            },
            "verdict",
        ),
    ],
)
def test_a_malformed_review_is_refused_with_a_message(alice, bob, fields, problem):
    from django.core.exceptions import ValidationError

    entry = submitted(alice)
    with pytest.raises(ValidationError) as caught:
        services.review_record(entry=entry, reviewer=bob, **fields)
    assert problem in caught.value.message_dict
    assert not Review.objects.exists()


def test_an_approval_drops_rejection_reasons(alice, bob):
    review = approve(submitted(alice), bob, reasons=["other"])
    assert review.reasons == []


# --- Reviewer fixes --------------------------------------------------------------------------


def test_a_reviewer_fix_is_a_revision_by_the_reviewer_shown_as_a_diff(alice, bob, carol):
    entry = services.entry_create(
        author=alice,
        category=category("open_qa"),
        values={"instruction": "Waht is the capital of France?", "response": "Paris."},
    )
    services.agreement_accept(user=alice)
    services.entry_submit(entry=entry, actor=alice)
    services.agreement_accept(user=bob)  # a fix needs the agreement

    review = approve(entry, bob, fix_values={"instruction": "What is the capital of France?"})
    entry.refresh_from_db()
    assert entry.instruction == "What is the capital of France?"
    assert review.fix.author == bob and review.fix.number == 2
    assert Revision.objects.filter(entry=entry).count() == 2

    approve(entry, carol)
    feedback = selectors.entry_feedback(entry=entry)
    (fixed,) = [r for r in feedback[0].reviews if r.fix_diffs]
    (diff,) = fixed.fix_diffs
    assert diff.field == "instruction"
    assert [(s.op, s.text) for s in diff.diff if s.op != "same"] == [
        ("removed", "Waht "),
        ("added", "What "),
    ]


def test_a_fix_that_breaks_the_rules_is_refused(alice, bob):
    from django.core.exceptions import ValidationError

    entry = submitted(alice)
    services.agreement_accept(user=bob)
    with pytest.raises(ValidationError) as caught:
        approve(entry, bob, fix_values={"response": "   "})
    assert "response" in caught.value.message_dict
    entry.refresh_from_db()
    assert entry.response.strip()
    assert not Review.objects.exists()


def test_an_unchanged_fix_is_no_fix(alice, bob):
    entry = submitted(alice)
    services.agreement_accept(user=bob)
    review = approve(entry, bob, fix_values={"response": entry.response})
    assert review.fix is None


def test_a_fix_needs_the_contributor_agreement(alice, bob):
    """Audit finding 1: a fix is text in the released data, so its writer must have accepted the
    agreement, as an author must to submit; without it the review can still be recorded."""
    entry = submitted(alice, response="Teh answer is Paris.")
    with pytest.raises(ActionForbidden, match="Accept the contributor agreement"):
        approve(entry, bob, fix_values={"response": "The answer is Paris."})
    entry.refresh_from_db()
    assert entry.response == "Teh answer is Paris."
    assert not Review.objects.exists() and not Revision.objects.filter(author=bob).exists()

    review = approve(entry, bob)
    assert review.fix is None

    services.agreement_accept(user=bob)
    other = submitted(alice, response="Teh answer is Rome.")
    assert approve(other, bob, fix_values={"response": "The answer is Rome."}).fix.author == bob


@pytest.mark.parametrize(
    ("before", "after", "allowed"),
    [
        # A typo, a missing word, a short answer's few words: corrections.
        ("The Eiffel Tower is in Pairs, France.", "The Eiffel Tower is in Paris, France.", True),
        ("Paris.", "Paris, the capital of France.", True),
        (
            "Hubble was launched in 1990 and its main mirror was ground slightly wrong at first, "
            "which a servicing mission corrected in 1993.",
            "Hubble was launched in 1990 and its main mirror was ground slightly wrong at first, "
            "which the first servicing mission corrected in December 1993.",
            True,
        ),
        # The whole answer replaced, or a long one swapped for another: rewrites.
        (
            "The Eiffel Tower is in Paris, France, on the Champ de Mars.",
            "Mount Everest is the highest mountain above sea level on Earth.",
            False,
        ),
        ("Paris.", "Paris is the capital of France and its largest city by far.", False),
    ],
)
def test_a_fix_corrects_and_does_not_rewrite(alice, bob, before, after, allowed):
    """Audit finding 1: a "fix" that replaces the response makes the record the reviewer's."""
    from django.core.exceptions import ValidationError

    services.agreement_accept(user=bob)
    entry = submitted(alice, response=before)
    if allowed:
        assert approve(entry, bob, fix_values={"response": after}).fix is not None
        return
    with pytest.raises(ValidationError) as caught:
        approve(entry, bob, fix_values={"response": after})
    (message,) = caught.value.message_dict["response"]
    assert "reject the entry with a reason" in message
    entry.refresh_from_db()
    assert entry.response == before and not Review.objects.exists()


def test_the_share_a_fix_may_change_is_a_setting(alice, bob, settings):
    from django.core.exceptions import ValidationError

    services.agreement_accept(user=bob)
    words = " ".join(f"word{n}" for n in range(40))
    changed = words.replace("word1 ", "w1 ").replace("word2 ", "w2 ").replace("word3 ", "w3 ")
    changed = " ".join(["new"] * 8) + " " + changed  # 3 words changed, 8 added: 11 of 40
    settings.FLOCK_FIX_MAX_SHARE = 0.25  # at most 10
    with pytest.raises(ValidationError):
        approve(submitted(alice, response=words), bob, fix_values={"response": changed})
    settings.FLOCK_FIX_MAX_SHARE = 0.3  # at most 12
    assert approve(submitted(alice, response=words), bob, fix_values={"response": changed}).fix


# --- Moderators ------------------------------------------------------------------------------


def test_a_moderator_overrides_the_votes_with_a_reason(alice, bob, carol):
    entry = submitted(alice)
    approve(entry, bob)
    decision = services.entry_decide(
        entry=entry, moderator=carol, verdict="reject", reason="Copied from a blog."
    )
    entry.refresh_from_db()
    assert entry.status == EntryStatus.REJECTED
    assert (decision.decided_by, decision.reason, decision.approvals) == (
        carol,
        "Copied from a blog.",
        1,
    )
    assert decision.by_moderator


def test_only_moderators_decide_and_they_give_a_reason(alice, bob, carol):
    from django.core.exceptions import ValidationError

    entry = submitted(alice)
    with pytest.raises(ActionForbidden):
        services.entry_decide(entry=entry, moderator=bob, verdict="approve", reason="I like it")
    with pytest.raises(ValidationError):
        services.entry_decide(entry=entry, moderator=carol, verdict="approve", reason="  ")
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED


def test_a_decided_entry_cannot_be_decided_again(alice, bob, carol, dave):
    entry = submitted(alice)
    approve(entry, bob)
    approve(entry, dave)
    with pytest.raises(StateConflict):
        services.entry_decide(entry=entry, moderator=carol, verdict="reject", reason="Late.")
    assert Decision.objects.filter(entry=entry).count() == 1


# --- Resubmission ----------------------------------------------------------------------------


def test_revising_a_rejected_entry_starts_its_reviews_over(alice, bob, carol, dave, erin):
    services.agreement_accept(user=alice)
    entry = submitted(alice)
    reject(entry, bob)
    reject(entry, carol)
    entry.refresh_from_db()
    services.entry_reopen(entry=entry, actor=alice)
    services.entry_update(entry=entry, actor=alice, values={"response": "A better answer."})
    services.entry_submit(entry=entry, actor=alice)
    entry.refresh_from_db()
    assert (entry.status, entry.review_round, entry.review_count) == ("submitted", 2, 0)

    # Bob and Carol reviewed it already: the queue does not hand it to them again.
    assert selectors.review_queue(reviewer=bob).count() == 0
    approve(entry, dave)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED  # round 1's rejections do not count
    approve(entry, erin)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED
    rounds = selectors.entry_feedback(entry=entry)
    assert [(r.round, r.decision.outcome, len(r.reviews)) for r in rounds] == [
        (2, "accepted", 2),
        (1, "rejected", 2),
    ]


def test_the_author_sees_reviews_only_of_decided_rounds(alice, bob, carol):
    entry = submitted(alice)
    approve(entry, bob)
    assert selectors.entry_feedback(entry=entry) == []
    approve(entry, carol)
    assert len(selectors.entry_feedback(entry=entry)[0].reviews) == 2


# --- The queue -------------------------------------------------------------------------------


def test_the_queue_hands_out_fewest_reviews_first_then_oldest(alice, bob, carol):
    now = timezone.now()
    old = submitted(alice, submitted_at=now - datetime.timedelta(days=2))
    new = submitted(alice, submitted_at=now - datetime.timedelta(days=1))
    reviewed_once = submitted(alice, submitted_at=now - datetime.timedelta(days=3))
    approve(reviewed_once, carol)

    order = list(selectors.review_queue(reviewer=bob).values_list("pk", flat=True))
    assert order == [old.pk, new.pk, reviewed_once.pk]
    assert services.review_next(reviewer=bob).pk == old.pk


def test_the_queue_excludes_own_reviewed_skipped_and_not_submitted(alice, bob, carol):
    own = submitted(bob)
    reviewed = submitted(alice)
    approve(reviewed, bob)
    skipped = submitted(alice)
    services.review_skip(entry=skipped, reviewer=bob)
    EntryFactory(author=alice)  # a draft
    EntryFactory(author=alice, status=EntryStatus.ACCEPTED)
    EntryFactory(author=alice, status=EntryStatus.WITHDRAWN)
    wanted = submitted(alice)

    assert list(selectors.review_queue(reviewer=bob)) == [wanted]
    assert own in selectors.review_queue(reviewer=carol)


def test_the_queue_can_be_narrowed_to_a_category(alice, bob):
    open_qa = submitted(alice)
    brainstorm = submitted(alice, category=category("brainstorming"))
    assert services.review_next(reviewer=bob, category=category("brainstorming")) == brainstorm
    assert open_qa in selectors.review_queue(reviewer=bob)


def test_a_leased_entry_is_not_handed_to_anyone_else_until_the_lease_expires(alice, bob, carol):
    entry = submitted(alice)
    assert services.review_next(reviewer=bob) == entry
    assert services.review_next(reviewer=carol) is None

    Entry.objects.filter(pk=entry.pk).update(
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert services.review_next(reviewer=carol) == entry
    entry.refresh_from_db()
    assert entry.leased_to == carol
    assert entry.lease_expires_at > timezone.now() + datetime.timedelta(minutes=9)


def test_asking_again_returns_the_entry_one_already_holds(alice, bob):
    first, second = submitted(alice), submitted(alice)
    assert services.review_next(reviewer=bob) == first
    assert services.review_next(reviewer=bob) == first
    assert Entry.objects.filter(leased_to=bob).count() == 1
    approve(first, bob)
    assert services.review_next(reviewer=bob) == second


def test_skipping_releases_the_lease_and_moves_on(alice, bob, carol):
    first, second = submitted(alice), submitted(alice)
    assert services.review_next(reviewer=bob) == first
    services.review_skip(entry=first, reviewer=bob)
    first.refresh_from_db()
    assert first.leased_to is None
    assert services.review_next(reviewer=bob) == second
    assert services.review_next(reviewer=carol) == first


def test_a_reviewer_may_review_an_entry_leased_to_someone_else_from_a_link(alice, bob, carol):
    entry = submitted(alice)
    services.review_next(reviewer=bob)
    approve(entry, carol)
    entry.refresh_from_db()
    assert entry.leased_to == bob  # bob's hold is untouched; he may still review it
    approve(entry, bob)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED and entry.leased_to is None


def test_nothing_left_is_none(alice, bob):
    assert services.review_next(reviewer=bob) is None
    submitted(bob)
    assert services.review_next(reviewer=bob) is None


# --- Agreement and moderation lists ----------------------------------------------------------


def test_reviewer_agreement_counts_decided_reviews_that_matched(alice, bob, carol, dave, erin):
    accepted = submitted(alice)
    approve(accepted, bob)
    approve(accepted, carol)
    rejected = submitted(alice)
    approve(rejected, bob)
    reject(rejected, carol)
    reject(rejected, dave)
    pending = submitted(alice)
    approve(pending, bob)

    bob_rate = selectors.reviewer_agreement(reviewer=bob)
    assert (bob_rate.decided, bob_rate.agreed, bob_rate.rate) == (2, 1, 0.5)
    carol_rate = selectors.reviewer_agreement(reviewer=carol)
    assert (carol_rate.decided, carol_rate.agreed) == (2, 2)
    assert selectors.reviewer_agreement(reviewer=erin).rate is None


def test_moderation_lists_split_votes_and_stale_entries(alice, bob, carol, settings):
    settings.FLOCK_REVIEW_STALE_HOURS = 24
    split = submitted(alice)
    approve(split, bob)
    reject(split, carol)
    stale = submitted(alice, submitted_at=timezone.now() - datetime.timedelta(hours=30))
    fresh = submitted(alice)
    assert list(selectors.moderation_split_votes()) == [split]
    assert list(selectors.moderation_stale()) == [stale]
    assert fresh not in selectors.moderation_stale()


def test_a_moderator_cannot_decide_their_own_entry(carol):
    entry = submitted(carol)
    with pytest.raises(ActionForbidden, match="own entries"):
        services.entry_decide(entry=entry, moderator=carol, verdict="approve", reason="Mine.")
    assert not Decision.objects.exists()


def test_a_fix_against_an_older_revision_is_refused(alice, bob, dave):
    services.agreement_accept(user=alice)
    entry = services.entry_create(
        author=alice,
        category=category("open_qa"),
        values={"instruction": "Q?", "response": "Teh A."},
    )
    services.entry_submit(entry=entry, actor=alice)
    for reviewer in (bob, dave):
        services.agreement_accept(user=reviewer)
    approve(entry, bob, fix_values={"response": "The A."}, seen_revision=1)
    with pytest.raises(StateConflict, match="Another reviewer changed"):
        approve(entry, dave, fix_values={"response": "Teh answer."}, seen_revision=1)
    entry.refresh_from_db()
    assert entry.response == "The A."
