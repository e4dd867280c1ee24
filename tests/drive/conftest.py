"""A drive's history built row by row at chosen moments, for the dashboard's figures."""

import datetime

import pytest
from django.utils import timezone

from annotation.models import Decision, EntryStatus, Profile, Review, Team
from leaderboard.models import Contest
from tests.factories import EntryFactory, UserFactory, category

# A Wednesday noon; every test here runs on this clock (time_machine), never the wall clock.
T0 = datetime.datetime(2031, 3, 5, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def at_t0(time_machine):
    time_machine.move_to(T0, tick=False)
    return T0


def person(username: str, team: str | None = None, **kwargs):
    user = UserFactory(username=username, **kwargs)
    Profile.objects.update_or_create(
        user=user, defaults={"team": Team.objects.get_or_create(name=team)[0] if team else None}
    )
    return user


def entry(author, *, submitted_at, status=EntryStatus.SUBMITTED, decided_at=None, slug="open_qa"):
    """An entry submitted (and, if `status` says so, decided) at the given moments."""
    made = EntryFactory(
        author=author,
        category=category(slug),
        status=status,
        submitted_at=submitted_at,
        decided_at=decided_at,
    )
    if status in (EntryStatus.ACCEPTED, EntryStatus.REJECTED):
        decision = Decision.objects.create(entry=made, round=1, outcome=status)
        if decided_at is not None:  # the decision made at the moment the entry says
            Decision.objects.filter(pk=decision.pk).update(created_at=decided_at)
    return made


def review(entry, reviewer, *, at, verdict="approve", reasons=()):
    made = Review.objects.create(
        entry=entry,
        reviewer=reviewer,
        round=entry.review_round,
        verdict=verdict,
        rating=4 if verdict == "approve" else 2,
        reasons=list(reasons),
    )
    Review.objects.filter(pk=made.pk).update(created_at=at)
    return made


def contest(starts_at, ends_at) -> Contest:
    return Contest.objects.create(
        name="Spring sprint",
        starts_at=starts_at,
        ends_at=ends_at,
        grace_ends_at=ends_at + datetime.timedelta(days=2),
    )


def hours_before(hours: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=hours)
