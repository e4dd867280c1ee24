"""Every table downloads as CSV (formula-safe) and Parquet (the same rows, typed); the page links
to each; an unknown format or table is a 400 that says what to choose."""

import csv
import datetime
import io

import pandas as pd
import pytest

from annotation.models import EntryStatus, GoldEntry, GoldReview
from drive import tables
from tests.drive.conftest import T0, contest, entry, review
from tests.drive.conftest import person as make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(api_client, carol, at_t0):
    api_client.force_authenticate(carol)
    return api_client


@pytest.fixture
def formula_team(at_t0):
    """A team whose name a spreadsheet would run as a formula, with one writer; a contest of
    three hours so far; a reviewer who answered a gold entry."""
    writer = make_person("mallory", team='=HYPERLINK("http://evil.example","x")')
    reviewer = make_person("bob")
    written = entry(writer, submitted_at=T0)
    review(written, reviewer, at=T0, verdict="reject", reasons=["low_effort"])
    contest(T0 - datetime.timedelta(hours=3), T0 + datetime.timedelta(days=2))
    gold = GoldEntry.objects.create(
        entry=entry(writer, submitted_at=T0, status=EntryStatus.ACCEPTED, decided_at=T0),
        expected="approve",
        revision=1,
        marked_by=reviewer,
    )
    GoldReview.objects.create(
        gold=gold, reviewer=reviewer, handed_at=T0, answered_at=T0, verdict="approve", caught=True
    )
    return writer


def test_a_csv_download_is_an_attachment_and_formula_safe(staff_api, formula_team):
    answer = staff_api.get("/api/v1/drive/participation/?format=csv&table=teams")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"] == 'attachment; filename="drive-teams-20310305-1200.csv"'
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0] == [column.name for column in tables.TABLES["teams"].columns]
    names = [row[0] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example","x")' in names
    assert not any(name.startswith("=") for name in names)


def test_the_main_table_is_the_default(staff_api, formula_team):
    answer = staff_api.get("/api/v1/drive/progress/?format=csv")
    header = answer.content.decode().splitlines()[0]
    assert header.startswith("category,name,target,accepted,in_review")
    assert "drive-categories-" in answer["Content-Disposition"]


@pytest.mark.parametrize(
    "endpoint,table",
    [(table.endpoint, name) for name, table in tables.TABLES.items()],
)
def test_parquet_holds_the_same_rows_as_json(staff_api, formula_team, endpoint, table):
    answer = staff_api.get(f"/api/v1/drive/{endpoint}/?format=parquet&table={table}")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/vnd.apache.parquet"
    assert answer["Content-Disposition"].endswith('.parquet"')
    frame = pd.read_parquet(io.BytesIO(answer.content))
    assert list(frame.columns) == tables.TABLES[table].column_names
    records = staff_api.get(f"/api/v1/drive/{endpoint}/").json()[table]
    assert [plain(row) for row in frame.to_dict("records")] == [plain(row) for row in records]


def plain(row: dict) -> dict:
    """A row with missing values as None, dates and moments as pandas Timestamps (UTC)."""

    def value(cell):
        if cell is None or (not isinstance(cell, str) and pd.isna(cell)):
            return None
        if isinstance(cell, str) and cell[:4].isdigit() and cell[4:5] == "-":
            return pd.Timestamp(cell)
        if hasattr(cell, "isoformat"):
            return pd.Timestamp(cell)
        return cell.item() if hasattr(cell, "item") else cell

    return {key: value(cell) for key, cell in row.items()}


def test_parquet_keeps_numbers_and_dates_typed(staff_api, formula_team):
    answer = staff_api.get("/api/v1/drive/participation/?format=parquet")
    days = pd.read_parquet(io.BytesIO(answer.content))
    assert len(days) == 14
    assert str(days["writers"].dtype) == "int64"
    assert days["day"].iloc[-1].isoformat() == "2031-03-05"
    assert days["writers"].iloc[-1] == 1


@pytest.mark.parametrize(
    "query,field",
    [
        ("?format=xlsx", "format"),
        ("?format=csv&table=nope", "table"),
        ("?format=csv&table=rings", "table"),  # a table of another endpoint
    ],
)
def test_an_unknown_format_or_table_is_a_400_that_says_what_to_choose(staff_api, query, field):
    answer = staff_api.get(f"/api/v1/drive/progress/{query}")
    assert answer.status_code == 400
    assert "Choose" in answer.json()[field][0]


def test_the_page_links_each_table_to_both_files(client, carol, formula_team):
    client.force_login(carol)
    html = client.get("/drive/").content.decode()
    for name, table in tables.TABLES.items():
        for file_format in ("csv", "parquet"):
            link = f"/api/v1/drive/{table.endpoint}/?format={file_format}&amp;table={name}"
            assert link in html, link
    assert 'data-label="Writers"' in html
