"""Many reviewers at once, on PostgreSQL's real row locks (SQLite serialises writers, so the race
this guards against cannot happen there; CI runs this with DATABASE_URL pointing at PostgreSQL)."""

import random
import threading
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from annotation import services
from annotation.models import Decision, EntryStatus, Review
from tests.factories import EntryFactory, UserFactory

REVIEWERS = 20
ENTRIES = 60

pytestmark = pytest.mark.django_db(transaction=True)


def _first_decision(verdicts: list[str]) -> int | None:
    """After how many reviews the consensus rule decides, or None if it never does."""
    approvals = rejections = 0
    for count, verdict in enumerate(verdicts, start=1):
        approvals += verdict == "approve"
        rejections += verdict == "reject"
        if rejections >= settings.FLOCK_REJECT_REJECTIONS:
            return count
        if approvals >= settings.FLOCK_ACCEPT_APPROVALS and approvals > rejections:
            return count
    return None


def test_twenty_reviewers_never_share_an_entry_and_each_entry_is_decided_once(postgresql, seeded):

    authors = [UserFactory(username=f"author{i}") for i in range(4)]
    entries = [
        EntryFactory(author=authors[i % 4], status=EntryStatus.SUBMITTED) for i in range(ENTRIES)
    ]
    reviewers = [UserFactory(username=f"reviewer{i}") for i in range(REVIEWERS)]

    held: dict[int, int] = {}
    guard = threading.Lock()
    overlaps: list[tuple[int, int, int]] = []
    failures: list[BaseException] = []
    reviewed: Counter = Counter()
    start = threading.Barrier(REVIEWERS)

    def review_until_nothing_is_left(reviewer, seed):
        rng = random.Random(seed)
        try:
            start.wait()
            while (entry := services.review_next(reviewer=reviewer)) is not None:
                with guard:
                    if entry.pk in held:
                        overlaps.append((entry.pk, held[entry.pk], reviewer.pk))
                    held[entry.pk] = reviewer.pk
                time.sleep(rng.random() / 500)  # read the entry for up to 2 ms
                with guard:
                    # Released before the review commits: the lease still guards the row.
                    del held[entry.pk]
                verdict = rng.choice(["approve", "approve", "reject"])
                services.review_record(
                    entry=entry,
                    reviewer=reviewer,
                    verdict=verdict,
                    rating=rng.randint(1, 5),
                    reasons=["other"] if verdict == "reject" else [],
                )
                with guard:
                    reviewed[reviewer.pk] += 1
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=review_until_nothing_is_left, args=(reviewer, n))
        for n, reviewer in enumerate(reviewers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads), "a reviewer thread hung"
    assert failures == []
    assert overlaps == [], "two reviewers held one entry at once"
    assert len([pk for pk, n in reviewed.items() if n]) > 1, "the work was not shared"

    pairs = Counter(Review.objects.values_list("entry_id", "reviewer_id"))
    assert max(pairs.values()) == 1, "a reviewer reviewed an entry twice"

    decisions = Counter(Decision.objects.values_list("entry_id", flat=True))
    assert sorted(decisions) == sorted(e.pk for e in entries)
    assert set(decisions.values()) == {1}, "an entry was decided more than once"

    for entry in entries:
        entry.refresh_from_db()
        verdicts = list(
            Review.objects.filter(entry=entry).order_by("id").values_list("verdict", flat=True)
        )
        # Decided by exactly the review that tipped it: no review came after the decision.
        assert _first_decision(verdicts) == len(verdicts), (entry.pk, verdicts)
        decision = Decision.objects.get(entry=entry)
        assert entry.status == decision.outcome
        assert (decision.approvals, decision.rejections) == (
            verdicts.count("approve"),
            verdicts.count("reject"),
        )
        assert entry.leased_to is None


def _race(workers, action):
    """Run action(worker) on one thread per worker, all released at the same instant."""
    start = threading.Barrier(len(workers))
    results, failures = [], []

    def run(worker):
        try:
            start.wait()
            results.append(action(worker))
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, failures


def test_reviewers_reviewing_one_entry_from_links_decide_it_exactly_once(postgresql, seeded):
    from config.errors import StateConflict

    author = UserFactory(username="author")
    for attempt in range(5):
        entry = EntryFactory(author=author, status=EntryStatus.SUBMITTED)
        reviewers = [UserFactory(username=f"linked{attempt}-{i}") for i in range(8)]

        def approve(reviewer, entry=entry):
            try:
                services.review_record(entry=entry, reviewer=reviewer, verdict="approve", rating=4)
                return "recorded"
            except StateConflict:
                return "too late"

        results, failures = _race(reviewers, approve)
        assert failures == []
        assert results.count("recorded") == settings.FLOCK_ACCEPT_APPROVALS
        assert Decision.objects.filter(entry=entry).count() == 1
        assert Review.objects.filter(entry=entry).count() == settings.FLOCK_ACCEPT_APPROVALS


def test_one_reviewer_clicking_twice_holds_one_lease(postgresql, seeded):
    from annotation.models import Entry

    author = UserFactory(username="author")
    for _ in range(10):
        EntryFactory(author=author, status=EntryStatus.SUBMITTED)
    reviewer = UserFactory(username="impatient")
    results, failures = _race([reviewer] * 4, lambda r: services.review_next(reviewer=r).pk)
    assert failures == []
    assert len(set(results)) == 1
    assert Entry.objects.filter(leased_to=reviewer).count() == 1
