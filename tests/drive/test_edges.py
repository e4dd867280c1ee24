"""Edges found in review: the page's tables line up with their headers, forecasts far away or
early in a contest, the contest's exclusive end, timing around overturns and reopens, missing
values, the Parquet schema, head counts, names for moderators, and the cache's keys and clocks."""

import datetime
import io
import math
from html.parser import HTMLParser

import pyarrow.parquet as pq
import pytest
from django.core.cache import cache

from annotation.models import Category, Decision, EntryStatus, Outcome, Overturn, OverturnVerdict
from drive import selectors, tables
from drive.figures import (
    Summary,
    _finite_summary,
    cache_key,
    drive_figures,
    figures_compute,
    figures_forget,
    weighted_quantiles,
)
from tests.drive.conftest import T0, contest, entry
from tests.drive.conftest import person as make_person

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def accepted(author, *, at, slug="open_qa"):
    return entry(
        author, submitted_at=at - HOUR, status=EntryStatus.ACCEPTED, decided_at=at, slug=slug
    )


def progress(figures, slug="open_qa") -> dict:
    return figures.frames["categories"].set_index("category").loc[slug].to_dict()


def shown(figures, name: str, slug_label: str, header: str) -> str:
    """The page's text in `name`'s row whose first cell is `slug_label`, under `header`."""
    table = tables.table_shown(figures, name)
    for row in table.rows:
        cells = dict(row)
        if row[0][1] == slug_label:
            return cells[header]
    raise AssertionError(f"no row {slug_label!r} in {name}")


# --- The page's tables -----------------------------------------------------------------------


class _Tables(HTMLParser):
    """Each <table>'s headers and rows of (data-label, text) cells."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, dict] = {}
        self._table = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), {"headers": [], "rows": []})
        elif self._table is None:
            return
        elif tag == "tr":
            self._table["rows"].append([])
        elif tag in ("th", "td"):
            self._cell = [tag, attrs.get("data-label"), ""]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2] += data

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("th", "td") and self._cell is not None:
            kind, label, text = self._cell
            if kind == "th":
                self._table["headers"].append(text.strip())
            else:
                self._table["rows"][-1].append((label, text.strip()))
            self._cell = None


def test_every_row_of_every_table_has_a_cell_under_each_header(client, carol, at_t0):
    alice = make_person("alice")
    entry(alice, submitted_at=T0 - 2 * HOUR)
    accepted(alice, at=T0 - HOUR)
    client.force_login(carol)
    parser = _Tables()
    parser.feed(client.get("/drive/").content.decode())
    found = {name: table for name, table in parser.tables.items() if name}
    assert {"table-categories", "table-backlog", "table-acceptance", "table-days"} <= set(found)
    for name, table in found.items():
        rows = [row for row in table["rows"] if row]
        assert rows, name
        for row in rows:
            assert [label for label, _ in row] == table["headers"], name
    backlog = dict(next(row for row in parser.tables["table-backlog"]["rows"] if row))
    open_qa = Category.objects.get(slug="open_qa").name
    assert backlog["Category"] == open_qa and backlog["Waiting for review"] == "1"
    progress_row = next(dict(row) for row in parser.tables["table-categories"]["rows"] if dict(row))
    assert progress_row["Category"] in Category.objects.values_list("name", flat=True)
    assert progress_row["Target"].replace(",", "").isdigit()


# --- Forecasts -------------------------------------------------------------------------------


def test_a_target_centuries_away_is_not_at_this_pace_and_nothing_fails(at_t0, client, carol):
    Category.objects.filter(slug="open_qa").update(target_count=400_000)
    contest(T0 - 7 * DAY, T0 + DAY)
    accepted(make_person("alice"), at=T0 - 6 * DAY)  # one in seven days
    figures = figures_compute(now=T0)
    row = progress(figures)
    assert row["pace_contest"] == pytest.approx(1 / 7)
    assert row["eta_contest"] is None and row["eta_24h"] is None
    client.force_login(carol)
    assert client.get("/drive/").status_code == 200
    assert client.get("/api/v1/drive/progress/").json()["categories"]


def test_by_the_contests_end_means_before_its_exclusive_end(at_t0):
    """The contest ends Monday 00:00; the target is reached Monday 06:00, on the calendar day
    of ends_at but after the contest."""
    Category.objects.filter(slug="open_qa").update(target_count=12 + 57)
    contest(T0 - DAY, T0 + 4 * DAY + 12 * HOUR)  # Wednesday noon + 4.5 days: Monday 00:00
    alice = make_person("alice")
    for n in range(12):
        accepted(alice, at=T0 - (n + 1) * HOUR)
    row = progress(figures_compute(now=T0))  # 57 to go at 12 a day: 4.75 days, Monday 06:00
    assert row["eta_24h"] == datetime.date(2031, 3, 10)
    assert row["on_track"] is False


def test_the_contest_pace_divides_by_at_least_an_hour(at_t0):
    contest(T0 - 5 * datetime.timedelta(minutes=1), T0 + DAY)
    accepted(make_person("alice"), at=T0 - datetime.timedelta(minutes=2))
    assert progress(figures_compute(now=T0))["pace_contest"] == pytest.approx(24)


def test_a_forecast_in_another_year_shows_its_year(at_t0):
    Category.objects.filter(slug="open_qa").update(target_count=1 + 400)
    Category.objects.filter(slug="closed_qa").update(target_count=1 + 2)
    alice = make_person("alice")
    accepted(alice, at=T0 - HOUR)
    accepted(alice, at=T0 - HOUR, slug="closed_qa")
    figures = figures_compute(now=T0)
    open_qa = Category.objects.get(slug="open_qa").name
    closed_qa = Category.objects.get(slug="closed_qa").name
    header = "Reached at the 24 h pace"
    assert shown(figures, "categories", open_qa, header) == "Thu 8 Apr 2032"
    assert shown(figures, "categories", closed_qa, header) == "Fri 7 Mar"


def test_without_a_contest_the_contest_forecast_says_so(at_t0):
    accepted(make_person("alice"), at=T0 - HOUR)
    figures = figures_compute(now=T0)
    name = Category.objects.get(slug="open_qa").name
    assert shown(figures, "categories", name, "Reached at the contest's pace") == (
        "no contest running"
    )
    assert shown(figures, "categories", name, "By the contest's end") == "no contest running"


# --- Timing around overturns and reopens -----------------------------------------------------


def overturn(decision, verdict, *, at, moderator):
    made = Overturn.objects.create(
        decision=decision, verdict=verdict, reason="On a second look.", moderator=moderator
    )
    Overturn.objects.filter(pk=made.pk).update(created_at=at)
    return made


def test_an_overturn_does_not_stretch_the_time_to_a_decision(at_t0, carol):
    alice = make_person("alice")
    rejected = entry(
        alice,
        submitted_at=T0 - 24 * HOUR,
        status=EntryStatus.REJECTED,
        decided_at=T0 - 22 * HOUR,
    )
    first = rejected.decisions.get()
    by_moderator = overturn(first, OverturnVerdict.APPROVE, at=T0 - HOUR, moderator=carol)
    second = Decision.objects.create(
        entry=rejected, round=1, outcome=Outcome.ACCEPTED, decided_by=carol, overturn=by_moderator
    )
    Decision.objects.filter(pk=second.pk).update(created_at=T0 - HOUR)
    rejected.status, rejected.decided_at = EntryStatus.ACCEPTED, T0 - HOUR
    rejected.save(update_fields=["status", "decided_at"])
    summary = figures_compute(now=T0).summary
    assert summary.decided == 1
    assert summary.decision_p50_hours == pytest.approx(2)  # not 23: the moderator's delay


def test_a_reopened_entry_waits_from_its_reopening(at_t0, carol):
    alice = make_person("alice")
    reopened = entry(
        alice, submitted_at=T0 - 48 * HOUR, status=EntryStatus.REJECTED, decided_at=T0 - 46 * HOUR
    )
    overturn(reopened.decisions.get(), OverturnVerdict.REOPEN, at=T0 - 3 * HOUR, moderator=carol)
    reopened.status, reopened.decided_at = EntryStatus.SUBMITTED, None
    reopened.save(update_fields=["status", "decided_at"])
    figures = figures_compute(now=T0)
    assert figures.summary.waiting == 1
    assert figures.summary.waiting_p50_hours == pytest.approx(3)


def test_a_rejected_entry_revised_to_a_draft_still_counts_as_a_decided_round(at_t0):
    alice = make_person("alice")
    revised = entry(
        alice, submitted_at=T0 - 5 * HOUR, status=EntryStatus.REJECTED, decided_at=T0 - 4 * HOUR
    )
    revised.status = EntryStatus.DRAFT
    revised.save(update_fields=["status"])
    accepted(alice, at=T0 - HOUR)
    acceptance = figures_compute(now=T0).frames["acceptance"].set_index("category")
    assert acceptance.loc["open_qa", "decided"] == 2
    assert acceptance.loc["open_qa", "acceptance_rate"] == pytest.approx(0.5)


# --- Missing values and files ----------------------------------------------------------------


def test_unknown_values_are_left_out_of_quantiles_and_the_summary():
    """The database keeps an entry under review from lacking its submission time (a check
    constraint); should an unknown age reach the figures anyway, it is left out, and no NaN
    or infinity reaches strict JSON."""
    assert weighted_quantiles([math.nan, 2.0, math.inf], [3, 1, 1]) == [2.0, 2.0]
    summary = _finite_summary(Summary(waiting_p50_hours=math.nan, top_share=math.inf))
    assert summary.waiting_p50_hours is None and summary.top_share is None


def test_parquet_has_one_schema_also_for_a_column_without_values(at_t0, client, carol):
    accepted(make_person("alice"), at=T0 - HOUR)  # no contest: eta_contest is empty throughout
    client.force_login(carol)
    content = client.get("/api/v1/drive/progress/?format=parquet&table=categories").content
    schema = pq.read_table(io.BytesIO(content)).schema
    assert str(schema.field("eta_contest").type) == "date32[day]"
    assert schema.equals(tables.arrow_schema(tables.TABLES["categories"]), check_metadata=False)


def test_no_nan_or_infinity_reaches_the_json(at_t0):
    figures = figures_compute(now=T0)
    figures.frames["teams"].loc[:, "writers_per_head"] = math.inf
    records = tables.table_records(figures, tables.TABLES["teams"])
    assert all(row["writers_per_head"] is None for row in records)


# --- People ----------------------------------------------------------------------------------


def test_head_counts_count_active_people_who_are_not_staff(at_t0):
    make_person("alice", "Red")
    make_person("gone", "Red", is_active=False)
    make_person("boss", "Red", is_staff=True)
    teams = selectors.teams().set_index("team")
    assert teams.loc["Red", "head_count"] == 1


def test_moderators_tell_two_people_of_one_display_name_apart(at_t0):
    first, second = make_person("sam1"), make_person("sam2")
    for user in (first, second):
        user.profile.display_name = "Sam"
        user.profile.save()
    plain = make_person("pat")
    assert selectors.names({first.pk, second.pk, plain.pk}) == {
        first.pk: "Sam (sam1)",
        second.pk: "Sam (sam2)",
        plain.pk: "pat",
    }


# --- The cache's keys and clocks -------------------------------------------------------------


def test_the_cache_key_follows_the_redis_prefix_of_the_moment(at_t0, settings):
    settings.FLOCK_REDIS_PREFIX = "flock-one:"
    ours = cache_key()
    assert ours.startswith("flock-one:") and ":v" in ours
    drive_figures()
    settings.FLOCK_REDIS_PREFIX = "flock-two:"
    assert cache_key() != ours
    figures_forget()  # another instance's forgetting leaves ours alone
    assert cache.get(ours) is not None
    cache.delete(ours)


def test_figures_from_a_clock_a_little_ahead_still_serve(
    at_t0, time_machine, django_assert_max_num_queries
):
    ahead = figures_compute(now=T0 + datetime.timedelta(seconds=30))
    cache.set(cache_key(), ahead)
    with django_assert_max_num_queries(0):
        assert drive_figures(now=T0).computed_at == ahead.computed_at
