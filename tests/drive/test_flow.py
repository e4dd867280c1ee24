"""Flow against hand counts: the backlog and its ages, time to a decision, acceptance, reasons
for rejection, flags opened and resolved, and reviewer agreement with decisions as they stand."""

import datetime

import pytest

from annotation.models import Decision, EntryStatus, Flag, FlagKind, GoldEntry, GoldReview, Overturn
from drive.figures import figures_compute
from tests.drive.conftest import T0, entry, review
from tests.drive.conftest import person as make_person

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def people(at_t0):
    return [make_person(name) for name in ("alice", "bob", "dave", "erin")]


def decided(author, status, *, waited_hours: float):
    return entry(
        author,
        submitted_at=T0 - 24 * HOUR,
        decided_at=T0 - 24 * HOUR + waited_hours * HOUR,
        status=status,
    )


def test_the_backlog_its_ages_and_where_it_is(people):
    alice = people[0]
    for hours in (1, 2, 6):
        entry(alice, submitted_at=T0 - hours * HOUR)
    entry(alice, submitted_at=T0 - 10 * HOUR, slug="closed_qa")
    figures = figures_compute(now=T0)
    summary = figures.summary
    assert summary.waiting == 4
    # Ages 1, 2, 6, 10 hours: median 4, 90th percentile 6 + 0.7 × 4 (linear interpolation).
    assert summary.waiting_p50_hours == pytest.approx(4)
    assert summary.waiting_p90_hours == pytest.approx(8.8)
    backlog = figures.frames["backlog"]
    assert backlog.iloc[0]["category"] == "open_qa"  # where most wait
    open_qa = backlog.set_index("category").loc["open_qa"]
    assert (open_qa["waiting"], open_qa["age_p50_hours"]) == (3, pytest.approx(2))
    assert open_qa["age_p90_hours"] == pytest.approx(5.2)


def test_time_to_decision_and_acceptance_by_category(people):
    alice = people[0]
    decided(alice, EntryStatus.ACCEPTED, waited_hours=2)
    decided(alice, EntryStatus.ACCEPTED, waited_hours=4)
    decided(alice, EntryStatus.REJECTED, waited_hours=12)
    entry(alice, submitted_at=T0 - HOUR)  # under review: not decided
    figures = figures_compute(now=T0)
    assert figures.summary.decided == 3
    assert figures.summary.decision_p50_hours == pytest.approx(4)
    assert figures.summary.decision_p90_hours == pytest.approx(10.4)  # 4 + 0.8 × 8
    acceptance = figures.frames["acceptance"].set_index("category")
    assert acceptance.loc["open_qa", ["decided", "accepted", "rejected"]].tolist() == [3, 2, 1]
    assert acceptance.loc["open_qa", "acceptance_rate"] == pytest.approx(2 / 3)
    assert pd_isna(acceptance.loc["closed_qa", "acceptance_rate"])


def pd_isna(value) -> bool:
    return value != value  # NaN is the one value unequal to itself


def test_reasons_for_rejection_are_counted_one_by_one(people):
    alice, bob, dave, erin = people
    rejected = entry(alice, submitted_at=T0 - HOUR)
    review(rejected, bob, at=T0, verdict="reject", reasons=["low_effort", "factual_error"])
    review(rejected, dave, at=T0, verdict="reject", reasons=["low_effort"])
    review(rejected, erin, at=T0, verdict="approve")
    reasons = figures_compute(now=T0).frames["reasons"]
    assert reasons[["reason", "label", "reviews"]].values.tolist() == [
        ["low_effort", "Low effort", 2],
        ["factual_error", "Factual error", 1],
    ]
    assert reasons["share"].tolist() == [1.0, 0.5]  # of the two rejecting reviews


def test_flags_opened_and_resolved_per_day(people, carol):
    flagged = entry(people[0], submitted_at=T0 - 30 * HOUR)
    yesterday = Flag.objects.create(
        entry=flagged, kind=FlagKind.AI_TEXT, evidence="x", evidence_key="a", blocking=False
    )
    Flag.objects.filter(pk=yesterday.pk).update(
        created_at=T0 - 24 * HOUR, resolved_at=T0 - HOUR, status="dismissed", resolved_by=carol
    )
    for key in ("b", "c"):
        Flag.objects.create(
            entry=flagged,
            kind=FlagKind.PERSONAL_DATA,
            evidence="x",
            evidence_key=key,
            blocking=True,
        )
    Flag.objects.filter(evidence_key="b").update(resolved_at=T0, status="confirmed")
    flags = figures_compute(now=T0).frames["flags"]
    assert flags[["day", "kind", "opened", "resolved"]].values.tolist() == [
        [datetime.date(2031, 3, 5), "ai_text", 0, 1],
        [datetime.date(2031, 3, 5), "personal_data", 2, 1],
        [datetime.date(2031, 3, 4), "ai_text", 1, 0],
    ]


def test_reviewer_agreement_reads_decisions_as_they_stand(people, carol):
    """A accepted (two approvals: both agree); B rejected (an approval disagrees, a rejection
    agrees); C accepted, then overturned to rejected by a moderator: its approval now disagrees.
    3 of 5 agree."""
    alice, bob, dave, _ = people
    a = decided(alice, EntryStatus.ACCEPTED, waited_hours=1)
    b = decided(alice, EntryStatus.REJECTED, waited_hours=1)
    c = decided(alice, EntryStatus.ACCEPTED, waited_hours=1)
    for reviewed, verdicts in (
        (a, ["approve", "approve"]),
        (b, ["approve", "reject"]),
        (c, ["approve"]),
    ):
        for reviewer, verdict in zip((bob, dave), verdicts, strict=False):
            review(reviewed, reviewer, at=T0, verdict=verdict)
    overturn = Overturn.objects.create(
        decision=Decision.objects.get(entry=c), verdict="reject", reason="Copied.", moderator=carol
    )
    Decision.objects.create(
        entry=c, round=1, outcome="rejected", decided_by=carol, overturn=overturn
    )
    summary = figures_compute(now=T0).summary
    assert (summary.agreement_reviews, summary.agreement_agreed) == (5, 3)
    assert summary.agreement_rate == pytest.approx(0.6)
    assert summary.drive_approval_rate == pytest.approx(4 / 5)


def test_the_flow_api_carries_the_figures(people, client, carol):
    entry(people[0], submitted_at=T0 - 2 * HOUR)
    client.force_login(carol)
    body = client.get("/api/v1/drive/flow/").json()
    assert body["waiting"] == 1
    assert body["waiting_p50_hours"] == pytest.approx(2)
    assert body["backlog"][0] == {
        "category": "open_qa",
        "name": "Open QA",
        "waiting": 1,
        "age_p50_hours": pytest.approx(2),
        "age_p90_hours": pytest.approx(2),
    }
    assert {"acceptance", "reasons", "flags", "accuracy", "rings"} <= set(body)


def test_reviewers_are_listed_by_gold_accuracy_least_accurate_first(people, carol):
    """bob caught 4 of 5 gold entries, dave 1 of 5: dave first, and no longer in good standing
    (below FLOCK_GOLD_MIN_ACCURACY after FLOCK_GOLD_MIN_REVIEWS answers)."""
    alice, bob, dave, _ = people
    for n in range(5):
        gold = GoldEntry.objects.create(
            entry=decided(alice, EntryStatus.ACCEPTED, waited_hours=1),
            expected="approve",
            revision=1,
            marked_by=carol,
        )
        for reviewer, caught in ((bob, n < 4), (dave, n < 1)):
            GoldReview.objects.create(
                gold=gold, reviewer=reviewer, handed_at=T0, answered_at=T0, caught=caught
            )
    accuracy = figures_compute(now=T0).frames["accuracy"]
    assert accuracy[["name", "answered", "caught", "missed"]].values.tolist() == [
        ["dave", 5, 1, 4],
        ["bob", 5, 4, 1],
    ]
    assert accuracy["accuracy"].tolist() == [pytest.approx(0.2), pytest.approx(0.8)]
    assert accuracy["in_good_standing"].tolist() == [False, True]
