"""Progress: accepted and in-review counts against each target, and the forecast of the day the
target is reached at the last 24 hours' pace and at the running contest's."""

import datetime

import pytest

from annotation.models import Category, EntryStatus, Source
from drive.figures import figures_compute
from tests.drive.conftest import T0, contest, entry, hours_before, person
from tests.factories import EntryFactory, category

pytestmark = pytest.mark.django_db


def accepted(author, *, hours_ago: float, slug="open_qa"):
    return entry(
        author,
        submitted_at=hours_before(hours_ago + 5),
        status=EntryStatus.ACCEPTED,
        decided_at=hours_before(hours_ago),
        slug=slug,
    )


def row(figures, slug: str) -> dict:
    table = figures.frames["categories"].set_index("category")
    return table.loc[slug].to_dict()


@pytest.fixture
def history(at_t0, carol):
    """Open QA, target 100: 40 accepted, of which 12 in the last 24 hours and 20 since the
    contest began two days ago; 3 more in review. An imported record accepted an hour ago does
    not count. Brainstorming already has its 3 of 3; Closed QA accepted nothing lately."""
    Category.objects.filter(slug="open_qa").update(target_count=100)
    Category.objects.filter(slug="brainstorming").update(target_count=3)
    contest(T0 - datetime.timedelta(days=2), T0 + datetime.timedelta(days=5, hours=12))
    alice = person("alice")
    for n in range(12):
        accepted(alice, hours_ago=1 + n)
    for _ in range(8):
        accepted(alice, hours_ago=36)
    for _ in range(20):
        accepted(alice, hours_ago=96)
    for _ in range(3):
        entry(alice, submitted_at=hours_before(2))
    for _ in range(3):
        accepted(alice, hours_ago=200, slug="brainstorming")
    accepted(alice, hours_ago=100, slug="closed_qa")
    corpus = Source.objects.create(name="dolly", license="cc-by-sa-3.0")
    EntryFactory(
        author=None,
        source=corpus,
        category=category("open_qa"),
        status=EntryStatus.ACCEPTED,
        submitted_at=hours_before(1),
        decided_at=hours_before(1),
    )


def test_a_category_at_a_known_pace_reaches_its_target_on_the_expected_day(history):
    figures = figures_compute(now=T0)
    open_qa = row(figures, "open_qa")
    assert (open_qa["target"], open_qa["accepted"], open_qa["in_review"]) == (100, 40, 3)
    assert open_qa["pace_24h"] == 12  # a day
    assert open_qa["pace_contest"] == pytest.approx(10)  # 20 in 2 days
    # 60 to go: 5 days at 12 a day, 6 at 10 a day.
    assert open_qa["eta_24h"] == datetime.date(2031, 3, 10)
    assert open_qa["eta_contest"] == datetime.date(2031, 3, 11)
    assert open_qa["on_track"] is True  # the contest ends on the 10th


def test_no_pace_means_no_date_and_a_reached_target_means_today(history):
    figures = figures_compute(now=T0)
    closed_qa = row(figures, "closed_qa")
    assert closed_qa["pace_24h"] == 0
    assert closed_qa["eta_24h"] is None and closed_qa["eta_contest"] is None
    assert closed_qa["on_track"] is False
    brainstorming = row(figures, "brainstorming")
    assert brainstorming["eta_24h"] == brainstorming["eta_contest"] == datetime.date(2031, 3, 5)
    assert figures.summary.on_track == 1 + 1  # open_qa and brainstorming


def test_without_a_running_contest_there_is_no_contest_pace(at_t0):
    accepted(person("alice"), hours_ago=2)
    figures = figures_compute(now=T0)
    assert figures.contest is None
    open_qa = row(figures, "open_qa")
    assert open_qa["pace_24h"] == 1
    assert open_qa["eta_contest"] is None and open_qa["on_track"] is None


def test_the_api_gives_the_forecast_as_iso_dates(history, client, carol):
    client.force_login(carol)
    body = client.get("/api/v1/drive/progress/").json()
    by_slug = {row["category"]: row for row in body["categories"]}
    assert set(by_slug) == set(
        Category.objects.filter(is_active=True).values_list("slug", flat=True)
    )
    assert {key: by_slug["open_qa"][key] for key in ("target", "accepted", "in_review")} == {
        "target": 100,
        "accepted": 40,
        "in_review": 3,
    }
    assert by_slug["open_qa"]["eta_24h"] == "2031-03-10"
    assert by_slug["open_qa"]["eta_contest"] == "2031-03-11"
    assert by_slug["closed_qa"]["eta_24h"] is None
