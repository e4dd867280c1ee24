"""A finalised contest tells each person who scored in it their own place, and nobody else."""

import datetime

import pytest
from django.urls import reverse

from annotation.models import Notification, NotificationKind
from leaderboard import services
from leaderboard.models import Contest
from tests.factories import submitted

pytestmark = pytest.mark.django_db


def test_finalising_a_contest_tells_those_who_scored_their_place(
    alice, bob, carol, dave, accept, now, time_machine
):
    contest = Contest.objects.create(
        name="Sprint",
        starts_at=now - datetime.timedelta(days=3),
        ends_at=now - datetime.timedelta(days=1),
        grace_ends_at=now + datetime.timedelta(hours=1),
        winner_count=1,
    )
    when = now - datetime.timedelta(days=2)
    accept(submitted(alice, submitted_at=when), bob, carol)
    accept(submitted(alice, submitted_at=when), bob, carol)
    Notification.objects.all().delete()  # the decisions' own notifications

    time_machine.move_to(contest.grace_ends_at)  # due: its grace period is over
    services.contest_finalize(contest=contest, actor=carol)
    told = {n.recipient: n for n in Notification.objects.all()}
    standings = {s.user: s for s in contest.standings.all()}
    assert set(told) == {u for u, s in standings.items() if s.points > 0}
    assert set(told) == {alice}  # the reviews were made today: they count for this week's
    mine = told[alice]
    assert mine.kind == NotificationKind.CONTEST_FINALIZED
    assert mine.text == "Sprint is final: you placed #1 with 30 points, among the winners."
    assert mine.link == reverse("leaderboard:contest_board", args=[contest.pk])

    services.contest_finalize(contest=contest, actor=carol)  # idempotent: told once
    assert Notification.objects.count() == len(told)
