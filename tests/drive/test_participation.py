"""Participation against hand counts: writers and reviewers per company day and per hour of the
contest, per team and per head, new contributors, and the top 5%'s share of the work."""

import datetime

import pytest

from drive.figures import figures_compute
from tests.drive.conftest import T0, contest, entry, review
from tests.drive.conftest import person as make_person

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2031, 3, 5)
YESTERDAY = datetime.date(2031, 3, 4)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def drive(at_t0, carol):
    """Red: alice and bob; Blue: dave and erin (who does nothing).

    - alice submits two entries yesterday (her first ever) and one today;
    - bob submits one today (his first);
    - dave submitted one 20 days ago (outside the window) and one today;
    - dave reviews one of alice's yesterday; bob one of alice's today, dave bob's today.
    """
    alice, bob = make_person("alice", "Red"), make_person("bob", "Red")
    dave, _erin = make_person("dave", "Blue"), make_person("erin", "Blue")
    first = entry(alice, submitted_at=T0 - DAY)
    entry(alice, submitted_at=T0 - DAY + HOUR)
    second = entry(alice, submitted_at=T0 - 2 * HOUR)
    bobs = entry(bob, submitted_at=T0 - 3 * HOUR)
    entry(dave, submitted_at=T0 - 20 * DAY)
    entry(dave, submitted_at=T0 - HOUR)
    review(first, dave, at=T0 - DAY + 2 * HOUR)
    review(second, bob, at=T0 - HOUR)
    review(bobs, dave, at=T0 - HOUR, verdict="reject", reasons=["low_effort"])
    return {"alice": alice, "bob": bob, "dave": dave}


def day(figures, when) -> dict:
    return figures.frames["days"].set_index("day").loc[when].to_dict()


def test_writers_reviewers_and_newcomers_per_day(drive):
    figures = figures_compute(now=T0)
    days = figures.frames["days"]
    assert len(days) == 14 and days["day"].iloc[-1] == TODAY
    assert day(figures, TODAY) == {
        "writers": 3,
        "reviewers": 2,
        "new_contributors": 1,  # bob; dave wrote before, alice yesterday
        "submitted": 3,
        "reviews": 2,
    }
    assert day(figures, YESTERDAY) == {
        "writers": 1,
        "reviewers": 1,
        "new_contributors": 1,
        "submitted": 2,
        "reviews": 1,
    }
    # Dave's first entry, 20 days ago, is outside the 14 days and is nobody's news.
    assert days["new_contributors"].sum() == 2


def test_days_are_the_company_days(drive, settings):
    """An entry of 20:00 UTC yesterday is yesterday's in London and today's in Tokyo (05:00)."""
    entry(drive["bob"], submitted_at=T0 - 16 * HOUR)
    settings.TIME_ZONE = "Europe/London"
    london = figures_compute(now=T0)
    assert (day(london, YESTERDAY)["submitted"], day(london, TODAY)["submitted"]) == (3, 3)
    settings.TIME_ZONE = "Asia/Tokyo"
    tokyo = figures_compute(now=T0)  # 21:00 on the 5th there
    assert tokyo.frames["days"]["day"].iloc[-1] == TODAY
    assert (day(tokyo, YESTERDAY)["submitted"], day(tokyo, TODAY)["submitted"]) == (2, 4)


def test_per_team_and_per_head(drive):
    teams = figures_compute(now=T0).frames["teams"].set_index("team")
    assert teams.loc["Red", ["head_count", "writers", "reviewers"]].tolist() == [2, 2, 1]
    assert teams.loc["Blue", ["head_count", "writers", "reviewers"]].tolist() == [2, 1, 1]
    assert teams.loc["Red", "writers_per_head"] == 1.0
    assert teams.loc["Red", "reviewers_per_head"] == 0.5
    assert teams.loc["Blue", "writers_per_head"] == 0.5
    assert "(no team)" not in teams.index  # carol, without a team, did nothing


def test_the_top_five_percent_share_of_the_work(drive):
    """Work in the window: alice 3 entries, bob 1 entry + 1 review, dave 1 entry + 2 reviews.
    The top 5% of three people is one person, with 3 of the 8."""
    summary = figures_compute(now=T0).summary
    assert (summary.contributors, summary.top_count) == (3, 1)
    assert summary.top_share == pytest.approx(3 / 8)


def test_per_hour_of_the_running_contest(drive):
    contest(T0 - 5 * HOUR, T0 + 5 * DAY)
    hours = figures_compute(now=T0).frames["hours"]
    assert len(hours) == 6  # 07:00 … 12:00
    last_hour = hours[hours["hour"] == hours["hour"].max() - datetime.timedelta(hours=1)]
    # 11:00–12:00: dave submitted, bob and dave reviewed.
    assert last_hour[["writers", "reviewers", "submitted", "reviews"]].values.tolist() == [
        [1, 2, 1, 2]
    ]
    assert hours["submitted"].sum() == 3  # alice 10:00, bob 09:00, dave 11:00


def test_the_api_carries_the_participation_figures(drive, client, carol):
    client.force_login(carol)
    body = client.get("/api/v1/drive/participation/").json()
    assert body["days"][-1] == {
        "day": "2031-03-05",
        "writers": 3,
        "reviewers": 2,
        "new_contributors": 1,
        "submitted": 3,
        "reviews": 2,
    }
    assert body["top_share"] == pytest.approx(3 / 8)
    assert {row["team"]: row["writers"] for row in body["teams"]} == {"Red": 2, "Blue": 1}
