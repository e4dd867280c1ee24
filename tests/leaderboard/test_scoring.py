import datetime

import pytest
from django.db import IntegrityError

from annotation import services as annotation
from leaderboard import selectors, services
from leaderboard.models import Contest, ScoreEvent
from tests.factories import UserFactory, category, submitted

pytestmark = pytest.mark.django_db


def totals():
    return {
        user_id: sum(e.points for e in ScoreEvent.objects.filter(user_id=user_id))
        for user_id in ScoreEvent.objects.values_list("user_id", flat=True).distinct()
    }


def test_an_accepted_entry_earns_ten_times_its_multiplier_plus_the_short_category_bonus(
    alice, bob, carol, accept
):
    open_qa = accept(submitted(alice), bob, carol)
    closed_qa = accept(submitted(alice, category=category("closed_qa")), bob, carol)

    author_events = ScoreEvent.objects.filter(user=alice, kind="entry_accepted")
    points = {e.entry_id: e.points for e in author_events}
    assert points == {open_qa.pk: 10 + 5, closed_qa.pk: 15 + 5}  # closed_qa is × 1.5
    reason = author_events.get(entry=closed_qa).reason
    assert "10 × 1.5" in reason and "Closed QA had 0 of 2000" in reason


def test_no_bonus_once_a_category_reached_its_target(alice, bob, carol, accept):
    brainstorming = category("brainstorming")
    brainstorming.target_count = 1
    brainstorming.save()
    accept(submitted(alice, category=brainstorming), bob, carol)
    second = accept(submitted(alice, category=brainstorming), bob, carol)
    assert ScoreEvent.objects.get(entry=second, kind="entry_accepted").points == 10


def test_reviews_that_agree_with_the_outcome_earn_two(alice, bob, carol, dave):
    entry = submitted(alice)
    annotation.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    annotation.review_record(
        entry=entry, reviewer=carol, verdict="reject", rating=2, reasons=["other"]
    )
    annotation.review_record(entry=entry, reviewer=dave, verdict="approve", rating=5)
    review_points = dict(
        ScoreEvent.objects.filter(kind="review_agreed").values_list("user__username", "points")
    )
    assert review_points == {"bob": 2, "dave": 2}


def test_rejected_and_unreviewed_work_earns_nothing_but_agreeing_rejecters_do(alice, bob, carol):
    rejected = submitted(alice)
    for reviewer in (bob, carol):
        annotation.review_record(
            entry=rejected, reviewer=reviewer, verdict="reject", rating=1, reasons=["low_effort"]
        )
    submitted(alice)  # never reviewed
    assert not ScoreEvent.objects.filter(user=alice).exists()
    assert totals() == {bob.pk: 2, carol.pk: 2}


def test_a_moderator_decision_scores_the_reviews_that_agreed_with_it(alice, bob, carol, dave):
    entry = submitted(alice)
    annotation.review_record(entry=entry, reviewer=bob, verdict="approve", rating=4)
    annotation.review_record(
        entry=entry, reviewer=dave, verdict="reject", rating=2, reasons=["factual_error"]
    )
    annotation.entry_decide(entry=entry, moderator=carol, verdict="approve", reason="Checked it.")
    assert totals() == {alice.pk: 15, bob.pk: 2}


def test_replaying_events_three_times_gives_the_same_totals(alice, bob, carol, dave, accept):
    accept(submitted(alice), bob, carol)
    accept(submitted(bob), carol, dave)
    before = totals()
    count = ScoreEvent.objects.count()
    for _ in range(3):
        assert services.score_replay() == 0
    assert totals() == before
    assert ScoreEvent.objects.count() == count


def test_a_lost_event_is_restored_by_replay(alice, bob, carol, accept):
    entry = accept(submitted(alice), bob, carol)
    before = totals()
    ScoreEvent.objects.filter(entry=entry, kind="entry_accepted").delete()
    assert services.score_replay() == 1
    assert totals() == before


def test_the_ledger_key_is_unique_in_the_database(alice, bob, carol, accept):
    entry = accept(submitted(alice), bob, carol)
    event = ScoreEvent.objects.get(entry=entry, kind="entry_accepted")
    with pytest.raises(IntegrityError):
        ScoreEvent.objects.create(
            kind=event.kind, object_key=event.object_key, user=alice, points=99, reason="again"
        )


def test_contest_rules_override_the_defaults(alice, bob, carol, accept, now):
    contest = Contest.objects.create(
        name="Summarisation sprint",
        starts_at=now - datetime.timedelta(days=1),
        ends_at=now + datetime.timedelta(days=1),
        grace_ends_at=now + datetime.timedelta(days=2),
        accepted_points=20,
        review_points=3,
        short_category_bonus=0,
        multipliers={"open_qa": 2},
        focus_bonus=7,
    )
    contest.focus_categories.set([category("summarization")])
    entry = accept(submitted(alice, submitted_at=now), bob, carol)
    summary = accept(
        submitted(
            alice,
            submitted_at=now,
            category=category("summarization"),
            context="A passage.",
            source_url="https://en.wikipedia.org/wiki/X",
        ),
        bob,
        carol,
    )
    events = ScoreEvent.objects.filter(user=alice)
    assert events.get(entry=entry).points == 40  # 20 × 2
    assert events.get(entry=summary).points == 30 + 7  # 20 × 1.5 + focus
    assert set(ScoreEvent.objects.filter(user=bob).values_list("points", flat=True)) == {3}
    assert set(ScoreEvent.objects.values_list("contest", flat=True)) == {contest.pk}


def test_points_page_lists_every_event_with_its_reason(client, alice, bob, carol, accept):
    accept(submitted(alice), bob, carol)
    client.force_login(alice)
    page = client.get("/points/").content.decode()
    assert 'id="points-total">15<' in page
    assert "for an accepted Open QA entry" in page
    assert selectors.points_total(user=alice) == 15


def test_reviewers_get_their_own_review_points_listed(client, alice, bob, carol, accept):
    accept(submitted(alice), bob, carol)
    client.force_login(bob)
    page = client.get("/points/").content.decode()
    assert 'data-kind="review_agreed"' in page and "+2" in page
    assert 'data-kind="entry_accepted"' not in page


def test_a_user_with_no_points_is_told_how_to_earn_them(client):
    client.force_login(UserFactory(username="newbie"))
    assert b"No points yet" in client.get("/points/").content
