"""Gold entries: reviewer calibration (issue 14). Moderators mark decided entries with their
known verdict; the queue hands them out now and then, looking like any other entry; answers
are kept apart and measure each reviewer; a reviewer who misses too many stops counting."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from annotation import selectors, services
from annotation.api.serializers import ReviewSerializer
from annotation.models import (
    Decision,
    Entry,
    EntryStatus,
    Flag,
    FlagKind,
    GoldEntry,
    GoldReview,
    Notification,
    Review,
    ReviewSkip,
)
from annotation.services import gold
from annotation.services.entries import revision_record
from config.errors import ActionForbidden, StateConflict
from leaderboard.models import ScoreEvent, ScoreKind
from tests.factories import EntryFactory, UserFactory, handed_to, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def erin(db):
    """Erin reviews; her gold record is what the tests measure."""
    return UserFactory(username="erin")


@pytest.fixture
def frank(db):
    return UserFactory(username="frank")


def gold_entry(author, moderator, *, expected="approve", reasons=(), **kwargs) -> Entry:
    """A decided entry of `author`'s that `moderator` marked as gold."""
    status = EntryStatus.ACCEPTED if expected == "approve" else EntryStatus.REJECTED
    entry = EntryFactory(author=author, status=kwargs.pop("status", status), **kwargs)
    services.gold_mark(entry=entry, moderator=moderator, expected=expected, reasons=list(reasons))
    return entry


def handed_gold(entry, reviewer) -> Entry:
    """`entry` handed to `reviewer` as gold (services.review_next does this at FLOCK_GOLD_RATE):
    like tests.factories.handed_to for the queue."""
    GoldReview.objects.create(gold=entry.gold, reviewer=reviewer, handed_at=timezone.now())
    return entry


def answer(entry, reviewer, verdict="approve", reasons=(), **kwargs):
    return services.review_record(
        entry=entry, reviewer=reviewer, verdict=verdict, rating=3, reasons=list(reasons), **kwargs
    )


def gold_record_of(reviewer, moderator, author, *, caught: int, missed: int) -> None:
    """Give `reviewer` a gold record: `caught` right answers and `missed` wrong ones."""
    for right in [True] * caught + [False] * missed:
        entry = handed_gold(gold_entry(author, moderator), reviewer)
        answer(entry, reviewer, "approve" if right else "reject", reasons=["other"])


# --- Marking -------------------------------------------------------------------------------


def test_a_moderator_marks_a_decided_entry_and_marks_again_to_change(alice, carol):
    entry = EntryFactory(author=alice, status=EntryStatus.REJECTED)
    mark, created = services.gold_mark(
        entry=entry, moderator=carol, expected="reject", reasons=["low_effort", "low_effort"]
    )
    assert created and (mark.expected, mark.reasons, mark.revision) == ("reject", ["low_effort"], 0)
    mark, created = services.gold_mark(
        entry=entry, moderator=carol, expected="reject", reasons=["factual_error"]
    )
    assert not created and (mark.expected, mark.reasons) == ("reject", ["factual_error"])
    assert GoldEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("expected", "reasons", "field"),
    [
        ("reject", [], "reasons"),
        ("approve", ["low_effort"], "reasons"),
        ("reject", ["made_up"], "reasons"),
        ("maybe", [], "expected"),
    ],
)
def test_a_mark_needs_a_verdict_and_reasons_only_for_a_rejection(
    alice, carol, expected, reasons, field
):
    entry = EntryFactory(author=alice, status=EntryStatus.ACCEPTED)
    with pytest.raises(ValidationError) as refused:
        services.gold_mark(entry=entry, moderator=carol, expected=expected, reasons=reasons)
    assert field in refused.value.message_dict


def test_only_moderators_mark_only_others_decided_entries(alice, bob, carol):
    accepted = EntryFactory(author=alice, status=EntryStatus.ACCEPTED)
    with pytest.raises(ActionForbidden):
        services.gold_mark(entry=accepted, moderator=bob, expected="approve")
    own = EntryFactory(author=carol, status=EntryStatus.ACCEPTED)
    with pytest.raises(ActionForbidden):
        services.gold_mark(entry=own, moderator=carol, expected="approve")
    for state in (EntryStatus.SUBMITTED, EntryStatus.WITHDRAWN, EntryStatus.DRAFT):
        with pytest.raises(StateConflict):
            services.gold_mark(
                entry=EntryFactory(author=alice, status=state), moderator=carol, expected="approve"
            )
    assert not GoldEntry.objects.exists()


# --- Handing out ---------------------------------------------------------------------------


def test_the_draw_gives_gold_at_the_rate_set(settings):
    """Deterministic (keyed with SECRET_KEY): 2,000 hand-outs of 200 reviewers."""
    draws = [gold.gold_draw(reviewer_pk=pk, hand_outs=n) for pk in range(200) for n in range(10)]
    assert 0.08 <= sum(draws) / len(draws) <= 0.12
    settings.FLOCK_GOLD_RATE = 0.0
    assert not any(gold.gold_draw(reviewer_pk=pk, hand_outs=0) for pk in range(200))
    settings.FLOCK_GOLD_RATE = 1.0
    assert all(gold.gold_draw(reviewer_pk=pk, hand_outs=0) for pk in range(200))


def test_review_next_hands_gold_instead_of_the_head_when_drawn(alice, carol, settings):
    settings.FLOCK_GOLD_RATE = 0.5
    golds = {gold_entry(alice, carol).pk, gold_entry(alice, carol).pk}
    reviewers = [UserFactory() for _ in range(30)]
    for _ in reviewers:
        submitted(alice)
    got_gold = []
    for reviewer in reviewers:
        entry = services.review_next(reviewer=reviewer)
        drawn = gold.gold_draw(reviewer_pk=reviewer.pk, hand_outs=0)
        assert (entry.pk in golds) == drawn
        got_gold.append(drawn)
    assert 0 < sum(got_gold) < len(reviewers)
    assert GoldReview.objects.filter(answered_at__isnull=True).count() == sum(got_gold)


def test_gold_goes_only_to_those_who_never_saw_it(alice, bob, carol, dave, erin, settings):
    settings.FLOCK_GOLD_RATE = 1.0
    entry = submitted(alice)
    services.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    services.review_record(entry=entry, reviewer=dave, verdict="approve", rating=4)
    services.gold_mark(entry=entry, moderator=carol, expected="approve")
    head = submitted(erin)
    # Its author, its reviewers and the moderator who marked it get the queue's head instead.
    for reviewer in (alice, bob, dave, carol):
        assert services.review_next(reviewer=reviewer).pk == head.pk
        Entry.objects.filter(pk=head.pk).update(leased_to=None, lease_expires_at=None)
    frank = UserFactory(username="frank")
    assert services.review_next(reviewer=frank).pk == entry.pk
    services.review_skip(entry=entry, reviewer=frank)
    # Skipped: never handed to them again, and theirs to read no more.
    assert services.review_next(reviewer=frank).pk == head.pk
    assert not selectors.entries_visible_to(viewer=frank).filter(pk=entry.pk).exists()
    assert not ReviewSkip.objects.filter(entry=entry).exists()


def test_no_gold_where_the_queue_is_empty(alice, carol, frank, settings):
    settings.FLOCK_GOLD_RATE = 1.0
    gold_entry(alice, carol)
    assert services.review_next(reviewer=frank) is None
    assert not GoldReview.objects.exists()


def test_a_held_gold_entry_comes_back_first(alice, carol, frank, settings):
    settings.FLOCK_GOLD_RATE = 1.0
    entry = gold_entry(alice, carol)
    submitted(alice)
    assert services.review_next(reviewer=frank).pk == entry.pk
    settings.FLOCK_GOLD_RATE = 0.0
    assert services.review_next(reviewer=frank).pk == entry.pk
    assert GoldReview.objects.filter(reviewer=frank).count() == 1


def test_gold_within_the_chosen_category(alice, carol, frank, settings):
    from tests.factories import category

    settings.FLOCK_GOLD_RATE = 1.0
    gold_entry(alice, carol, category=category("brainstorming"))
    head = submitted(alice)
    assert services.review_next(reviewer=frank, category=category("open_qa")).pk == head.pk


def test_a_changed_text_is_no_longer_handed_out(alice, carol, erin, frank, settings):
    settings.FLOCK_GOLD_RATE = 1.0
    entry = gold_entry(alice, carol)
    head = submitted(alice)
    assert services.review_next(reviewer=frank).pk == entry.pk
    revision_record(entry=entry, author=carol)  # a moderator's edit of the accepted text
    # Neither handed back to the one holding it nor to anyone new.
    assert services.review_next(reviewer=frank).pk == head.pk
    assert not selectors.gold_candidates(reviewer=erin).exists()
    assert GoldReview.objects.get(reviewer=frank).skipped_at is not None


def test_an_unmarked_or_reopened_entry_is_no_longer_handed_out(alice, carol, frank, settings):
    settings.FLOCK_GOLD_RATE = 1.0
    unmarked = gold_entry(alice, carol)
    services.gold_unmark(entry=unmarked, moderator=carol)
    reopened = gold_entry(alice, carol)
    Entry.objects.filter(pk=reopened.pk).update(status=EntryStatus.SUBMITTED)
    head = submitted(alice, submitted_at=reopened.submitted_at)
    entry = services.review_next(reviewer=frank)
    assert entry.pk in {head.pk, reopened.pk} and not GoldReview.objects.exists()


# --- Answering -----------------------------------------------------------------------------


def test_an_answer_is_kept_apart_and_decides_nothing(alice, bob, carol, dave, erin):
    entry = gold_entry(alice, carol, expected="reject", reasons=["factual_error"])
    decisions = Decision.objects.count()
    for reviewer in (bob, dave, erin):
        services.agreement_accept(user=reviewer)  # the fix below is allowed, and ignored
        handed_gold(entry, reviewer)
        reply = answer(entry, reviewer, "approve", fix_values={"response": entry.response + "!"})
        assert reply.verdict == "approve" and reply.pk is not None
    entry.refresh_from_db()
    assert entry.status == EntryStatus.REJECTED and entry.revision_count == 0
    assert not Review.objects.filter(entry=entry).exists()
    assert Decision.objects.count() == decisions
    assert not ScoreEvent.objects.filter(user_id__in=[bob.pk, dave.pk, erin.pk]).exists()
    assert not Notification.objects.exists()
    answers = GoldReview.objects.filter(gold__entry=entry)
    assert {a.caught for a in answers} == {False} and all(a.answered_at for a in answers)


def test_a_second_answer_is_refused_as_a_second_review_would_be(alice, carol, erin):
    entry = handed_gold(gold_entry(alice, carol), erin)
    answer(entry, erin)
    with pytest.raises(StateConflict, match="already reviewed"):
        answer(entry, erin, "reject", reasons=["other"])


@pytest.mark.parametrize(
    ("expected", "verdict", "reasons", "caught"),
    [
        ("approve", "approve", [], True),
        ("approve", "reject", ["other"], False),
        ("reject", "approve", [], False),
        ("reject", "reject", ["other"], False),  # rejected, but for none of the known reasons
        ("reject", "reject", ["low_effort", "other"], True),  # one known reason is enough
        ("reject", "reject", ["factual_error"], True),
    ],
)
def test_caught_or_missed(alice, carol, erin, expected, verdict, reasons, caught):
    known = ["factual_error", "low_effort"] if expected == "reject" else []
    entry = handed_gold(gold_entry(alice, carol, expected=expected, reasons=known), erin)
    answer(entry, erin, verdict, reasons=reasons)
    assert GoldReview.objects.get(reviewer=erin).caught is caught
    record = selectors.gold_record(reviewer=erin)
    assert (record.caught, record.missed) == (int(caught), int(not caught))


def test_an_answer_after_the_mark_lapsed_scores_neither_way(alice, carol, erin):
    entry = handed_gold(gold_entry(alice, carol), erin)
    services.gold_unmark(entry=entry, moderator=carol)
    answer(entry, erin)
    hand_out = GoldReview.objects.get(reviewer=erin)
    assert hand_out.answered_at and hand_out.caught is None
    assert selectors.gold_record(reviewer=erin).answered == 0


# --- The accuracy gate ---------------------------------------------------------------------


def _approvals_decide(entry, erin, bob) -> bool:
    services.review_record(entry=entry, reviewer=erin, verdict="approve", rating=4)
    services.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    entry.refresh_from_db()
    return entry.status == EntryStatus.ACCEPTED


def test_below_the_accuracy_a_verdict_neither_counts_nor_earns(alice, bob, carol, dave, erin):
    gold_record_of(erin, carol, alice, caught=3, missed=2)  # 0.6 after 5
    assert not selectors.reviewer_in_good_standing(reviewer=erin)
    entry = submitted(alice)
    assert not _approvals_decide(entry, erin, bob)
    services.review_record(entry=entry, reviewer=dave, verdict="approve", rating=4)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED
    assert Decision.objects.get(entry=entry).approvals == 2
    earned = ScoreEvent.objects.filter(kind=ScoreKind.REVIEW_AGREED, entry=entry)
    assert set(earned.values_list("user_id", flat=True)) == {bob.pk, dave.pk}
    assert not Review.objects.get(entry=entry, reviewer=erin).counts


def test_at_good_accuracy_a_verdict_counts_and_earns(alice, bob, carol, erin):
    gold_record_of(erin, carol, alice, caught=4, missed=1)  # 0.8 after 5
    entry = submitted(alice)
    assert _approvals_decide(entry, erin, bob)
    earned = ScoreEvent.objects.filter(kind=ScoreKind.REVIEW_AGREED, entry=entry)
    assert set(earned.values_list("user_id", flat=True)) == {bob.pk, erin.pk}


def test_with_too_few_gold_answers_a_verdict_counts(alice, bob, carol, erin):
    gold_record_of(erin, carol, alice, caught=0, missed=4)
    assert selectors.reviewer_in_good_standing(reviewer=erin)
    assert _approvals_decide(submitted(alice), erin, bob)


def test_the_accuracy_table_lists_reviewers_least_accurate_first(alice, carol, erin, frank):
    gold_record_of(erin, carol, alice, caught=3, missed=2)
    gold_record_of(frank, carol, alice, caught=1, missed=0)
    table = selectors.gold_accuracy_table()
    assert [row["name"] for row in table] == ["erin", "frank"]
    assert table[0] == {
        "reviewer_id": erin.pk,
        "name": "erin",
        "answered": 5,
        "caught": 3,
        "missed": 2,
        "accuracy": 0.6,
        "in_good_standing": False,
    }
    assert table[1]["in_good_standing"] is True


# --- Indistinguishable on the page and in the API ------------------------------------------


def test_the_review_page_shows_a_gold_entry_as_any_under_review(
    client, alice, bob, carol, frank, settings
):
    settings.FLOCK_GOLD_RATE = 1.0
    entry = EntryFactory(author=alice, status=EntryStatus.SUBMITTED)
    services.review_record(entry=entry, reviewer=bob, verdict="reject", rating=2, reasons=["other"])
    services.entry_decide(entry=entry, moderator=carol, verdict="reject", reason="Off topic.")
    services.gold_mark(entry=entry, moderator=carol, expected="reject", reasons=["other"])
    Flag.objects.create(
        entry=entry, kind=FlagKind.MODERATOR, evidence="Off topic", evidence_key="x", blocking=True
    )
    head = submitted(alice)
    client.force_login(frank)
    response = client.post("/review/next/")
    assert response.url == f"/review/{entry.pk}/"
    page = client.get(response.url).content.decode()
    assert "Record review" in page and "Skip this one" in page
    for giveaway in ("This entry is", "no longer under review", "Quality flags", "Off topic"):
        assert giveaway not in page
    response = client.post(
        f"/review/{entry.pk}/", {"verdict": "reject", "rating": 2, "reasons": ["other"]}
    )
    assert response.status_code == 302 and response.url == f"/review/{head.pk}/"
    page = client.get(f"/review/{entry.pk}/").content.decode()
    assert "You reviewed this entry: reject, rated 2/5." in page
    assert "This entry is" not in page and "no longer under review" not in page
    assert "You reviewed 1 entry today." in page
    assert GoldReview.objects.get(reviewer=frank).caught is True
    home = client.get("/review/").content.decode()
    assert "you caught 1 and missed 0" in home


def test_the_api_shows_a_gold_entry_as_any_under_review(api_client, alice, carol, frank, settings):
    settings.FLOCK_GOLD_RATE = 1.0
    entry = gold_entry(alice, carol)
    Flag.objects.create(
        entry=entry, kind=FlagKind.MODERATOR, evidence="Hmm", evidence_key="x", blocking=True
    )
    submitted(alice)
    api_client.force_authenticate(frank)
    handed = api_client.post("/api/v1/reviews/next/", {}, format="json").json()
    assert handed["id"] == entry.pk and handed["review_count"] == 0 and handed["lease_expires_at"]
    assert "status" not in handed
    assert api_client.get(f"/api/v1/entries/{entry.pk}/flags/").json() == []
    body = {"verdict": "approve", "rating": 5}
    reply = api_client.post(f"/api/v1/entries/{entry.pk}/reviews/", body, format="json")
    assert reply.status_code == 201
    assert set(reply.json()) == {
        "id", "entry", "round", "verdict", "rating", "reasons", "comment", "fixed", "created_at"
    }  # fmt: skip
    again = api_client.post(f"/api/v1/entries/{entry.pk}/reviews/", body, format="json")
    assert again.status_code == 409
    assert not Review.objects.exists()


def test_gold_hand_outs_are_visible_to_their_reviewer_only(alice, bob, carol, erin):
    entry = handed_gold(gold_entry(alice, carol), erin)
    assert selectors.entries_visible_to(viewer=erin).filter(pk=entry.pk).exists()
    assert not selectors.entries_visible_to(viewer=bob).filter(pk=entry.pk).exists()
    answer(entry, erin)
    assert selectors.entries_visible_to(viewer=erin).filter(pk=entry.pk).exists()


# --- The moderators' API and page ----------------------------------------------------------


def test_the_gold_api(api_client, alice, bob, carol):
    decided = EntryFactory(author=alice, status=EntryStatus.REJECTED)
    url = f"/api/v1/entries/{decided.pk}/gold/"
    api_client.force_authenticate(bob)
    assert api_client.post(url, {"expected": "approve"}, format="json").status_code == 403
    assert api_client.delete(url).status_code == 403
    api_client.force_authenticate(carol)
    draft = EntryFactory(author=alice)
    draft_url = f"/api/v1/entries/{draft.pk}/gold/"
    assert api_client.post(draft_url, {"expected": "approve"}, format="json").status_code == 404
    under_review = submitted(alice)
    conflict = api_client.post(
        f"/api/v1/entries/{under_review.pk}/gold/", {"expected": "approve"}, format="json"
    )
    assert conflict.status_code == 409
    bad = api_client.post(url, {"expected": "reject"}, format="json")
    assert bad.status_code == 400 and "reasons" in bad.json()
    created = api_client.post(url, {"expected": "reject", "reasons": ["other"]}, format="json")
    assert created.status_code == 201
    assert created.json() | {"marked_at": None} == {
        "entry": decided.pk,
        "expected": "reject",
        "reasons": ["other"],
        "revision": 0,
        "is_active": True,
        "handed_out": True,
        "marked_by": "carol",
        "marked_at": None,
    }
    changed = api_client.post(url, {"expected": "reject", "reasons": ["low_effort"]}, format="json")
    assert changed.status_code == 200
    disagrees = api_client.post(url, {"expected": "approve"}, format="json")
    assert disagrees.status_code == 400 and "overturn it first" in disagrees.json()["expected"][0]
    assert api_client.delete(url).status_code == 204
    assert not GoldEntry.objects.get(entry=decided).is_active
    own = EntryFactory(author=carol, status=EntryStatus.ACCEPTED)
    forbidden = api_client.post(
        f"/api/v1/entries/{own.pk}/gold/", {"expected": "approve"}, format="json"
    )
    assert forbidden.status_code == 403


def test_a_moderator_marks_gold_on_the_review_page(client, alice, bob, carol):
    entry = EntryFactory(author=alice, status=EntryStatus.REJECTED)
    client.force_login(carol)
    assert "Gold entry" in client.get(f"/review/{entry.pk}/").content.decode()
    refused = client.post(f"/review/{entry.pk}/gold/", {"expected": "reject"})
    assert refused.status_code == 400
    assert "Give at least one reason" in refused.content.decode()
    done = client.post(f"/review/{entry.pk}/gold/", {"expected": "reject", "reasons": ["other"]})
    assert done.status_code == 302 and GoldEntry.objects.get(entry=entry).expected == "reject"
    page = client.get(f"/review/{entry.pk}/").content.decode()
    assert "Stop handing it out" in page
    client.post(f"/review/{entry.pk}/gold/unmark/")
    assert not GoldEntry.objects.get(entry=entry).is_active
    under_review = submitted(alice)
    assert "Gold entry" not in client.get(f"/review/{under_review.pk}/").content.decode()
    client.force_login(bob)
    assert client.post(f"/review/{entry.pk}/gold/", {"expected": "approve"}).status_code == 403


def test_marks_and_answers_are_listed_read_only_in_the_admin(client, alice, carol, erin):
    carol.is_superuser = True
    carol.save(update_fields=["is_superuser"])
    entry = handed_gold(gold_entry(alice, carol), erin)
    answer(entry, erin)
    client.force_login(carol)
    marks = client.get("/admin/annotation/goldentry/")
    link = f"/admin/annotation/goldentry/{entry.gold.pk}/change/"
    assert marks.status_code == 200 and link in marks.content.decode()
    answers = client.get("/admin/annotation/goldreview/")
    assert answers.status_code == 200 and "erin" in answers.content.decode()
    for model in ("goldentry", "goldreview"):
        assert client.get(f"/admin/annotation/{model}/add/").status_code == 403


# --- Review findings: nothing tells a gold hand-out apart ----------------------------------


def test_a_held_gold_entry_s_lease_is_renewed_as_a_held_lease(
    alice, carol, frank, settings, time_machine
):
    """Each "review next" that hands a held entry back gives it a lease from now, gold or not."""
    settings.FLOCK_GOLD_RATE = 1.0
    entry = gold_entry(alice, carol)
    submitted(alice)
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    assert services.review_next(reviewer=frank).pk == entry.pk
    later = start + datetime.timedelta(minutes=25)
    time_machine.move_to(later, tick=False)
    again = services.review_next(reviewer=frank)
    lease = datetime.timedelta(minutes=settings.FLOCK_REVIEW_LEASE_MINUTES)
    assert again.pk == entry.pk and again.lease_expires_at == later + lease
    assert GoldReview.objects.get(reviewer=frank).handed_at == later


def test_the_answer_s_id_comes_from_the_review_ids(alice, bob, carol, erin):
    before = answer(handed_to(submitted(alice), bob), bob)
    reply = answer(handed_gold(gold_entry(alice, carol), erin), erin)
    after = answer(handed_to(submitted(alice), bob), bob)
    assert before.pk < reply.pk <= after.pk
    if connection.vendor == "postgresql":  # the sequence's number is taken, never reused
        assert reply.pk < after.pk


def _fixable(author, moderator, reviewer) -> Entry:
    services.agreement_accept(user=reviewer)
    return handed_gold(gold_entry(author, moderator, response="Teh answer is Paris."), reviewer)


def test_a_gold_answer_s_fix_is_checked_as_a_review_s(alice, bob, carol, erin):
    for entry, reviewer in (
        (_fixable(alice, carol, erin), erin),
        (submitted(alice, response="Teh answer is Paris."), bob),
    ):
        services.agreement_accept(user=reviewer)
        with pytest.raises(ValidationError) as blank:
            answer(entry, reviewer, fix_values={"response": "   "})
        assert "response" in blank.value.message_dict
        with pytest.raises(ValidationError) as rewrite:
            answer(
                entry,
                reviewer,
                fix_values={
                    "response": "Mount Everest is the highest mountain above sea level on Earth."
                },
            )
        assert "reject the entry with a reason" in rewrite.value.message_dict["response"][0]
        with pytest.raises(StateConflict, match="Another reviewer changed"):
            answer(entry, reviewer, fix_values={"response": "The answer."}, seen_revision=1)
    assert not GoldReview.objects.filter(answered_at__isnull=False).exists()


def test_a_gold_answer_reports_its_fix_and_leaves_the_text(alice, carol, erin):
    entry = _fixable(alice, carol, erin)
    reply = answer(entry, erin, fix_values={"response": "The answer is Paris."}, seen_revision=0)
    assert reply.fix_id is None and ReviewSerializer(reply).data["fixed"] is True
    entry.refresh_from_db()
    assert entry.response == "Teh answer is Paris." and entry.revision_count == 0


def test_the_api_reports_a_gold_answer_s_fix(api_client, alice, carol, erin):
    entry = _fixable(alice, carol, erin)
    api_client.force_authenticate(erin)
    url = f"/api/v1/entries/{entry.pk}/reviews/"
    bad = {"verdict": "approve", "rating": 4, "response": "   "}
    assert api_client.post(url, bad, format="json").status_code == 400
    body = {"verdict": "approve", "rating": 4, "response": "The answer is Paris."}
    reply = api_client.post(url, body, format="json")
    assert reply.status_code == 201 and reply.json()["fixed"] is True


def test_moderators_are_not_handed_gold(alice, bob, carol, settings):
    settings.FLOCK_GOLD_RATE = 1.0
    entry = gold_entry(alice, carol)
    dora = UserFactory(username="dora", is_staff=True)
    head = submitted(bob)
    assert not selectors.gold_candidates(reviewer=dora).exists()
    assert services.review_next(reviewer=dora).pk == head.pk
    assert selectors.gold_candidates(reviewer=UserFactory()).get().entry == entry


# --- Review findings: an overturn that flips the outcome -----------------------------------


def test_an_overturned_outcome_stops_the_gold_entry(alice, bob, carol, dave, frank, settings):
    settings.FLOCK_GOLD_RATE = 1.0
    entry = submitted(alice)
    for reviewer in (bob, dave):
        services.review_record(entry=entry, reviewer=reviewer, verdict="approve", rating=4)
    services.gold_mark(entry=entry, moderator=carol, expected="approve")
    assert selectors.gold_candidates(reviewer=frank).exists()
    dora = UserFactory(username="dora", is_staff=True)
    services.entry_overturn(entry=entry, moderator=dora, verdict="reject", reason="Made up.")
    assert not selectors.gold_candidates(reviewer=frank).exists()
    head = submitted(alice)
    assert services.review_next(reviewer=frank).pk == head.pk


@pytest.mark.parametrize(
    ("status", "expected", "reasons", "said"),
    [
        (EntryStatus.ACCEPTED, "reject", ["other"], "This entry is accepted; overturn it first"),
        (EntryStatus.REJECTED, "approve", [], "This entry is rejected; overturn it first"),
    ],
)
def test_a_mark_must_agree_with_the_standing_outcome(alice, carol, status, expected, reasons, said):
    entry = EntryFactory(author=alice, status=status)
    with pytest.raises(ValidationError) as refused:
        services.gold_mark(entry=entry, moderator=carol, expected=expected, reasons=reasons)
    assert said in refused.value.message_dict["expected"][0]
    assert not GoldEntry.objects.exists()


# --- Review findings: which votes count ----------------------------------------------------


def test_a_vote_that_does_not_count_makes_no_split(alice, bob, carol, dave, erin):
    gold_record_of(erin, carol, alice, caught=3, missed=2)  # no longer in good standing
    entry = submitted(alice)
    services.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    services.review_record(
        entry=entry, reviewer=erin, verdict="reject", rating=2, reasons=["other"]
    )
    assert not selectors.moderation_split_votes().filter(pk=entry.pk).exists()
    (listed,) = selectors.moderation_stale(now=timezone.now() + datetime.timedelta(days=30))
    assert (listed.approvals, listed.rejections) == (1, 0)
    services.review_record(
        entry=entry, reviewer=dave, verdict="reject", rating=2, reasons=["other"]
    )
    assert selectors.moderation_split_votes().filter(pk=entry.pk).exists()
