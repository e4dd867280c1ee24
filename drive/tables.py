"""The dashboard's named tables: one registry read by the page (its tables and download links),
the API (its JSON, `?format=csv|parquet&table=<name>`) and the schema (row serializers).

Each table names the frame of DriveFigures it shows and its columns with their kind, which
decides how a cell is written: in CSV (formula-safe, leaderboard.csv_safety), in Parquet (typed
columns pandas reads back as they were), in JSON, and on the page.
"""

import csv
import io
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.utils import formats, timezone

from drive.figures import DriveFigures
from leaderboard.csv_safety import spreadsheet_safe

ENDPOINTS = ("progress", "participation", "flow")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str = "int"  # int, float, share (0 to 1), hours, str, date, datetime, bool
    empty: str = "—"  # what the page shows for no value
    on_page: bool = True  # False: in the files and the API only (a slug beside its name)
    needs_contest: bool = False  # empty without a running contest: the page says so

    @property
    def nullable(self) -> bool:
        return self.kind not in ("int", "str")


@dataclass(frozen=True)
class Table:
    name: str
    endpoint: str
    title: str
    columns: tuple[Column, ...]
    shown: int | None = None  # rows the page shows (None: all; 0: only the chart); files hold all

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def page_columns(self) -> list[Column]:
        return [column for column in self.columns if column.on_page]


NOT_AT_THIS_PACE = "not at this pace"
NO_CONTEST = "no contest running"

TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        Table(
            "categories",
            "progress",
            "Progress per category",
            (
                Column("category", "Category", "str", on_page=False),
                Column("name", "Category", "str"),
                Column("target", "Target"),
                Column("accepted", "Accepted"),
                Column("in_review", "In review"),
                Column("remaining", "To go"),
                Column("pace_24h", "A day (last 24 h)", "float"),
                Column("pace_contest", "A day (contest)", "float", needs_contest=True),
                Column("eta_24h", "Reached at the 24 h pace", "date", NOT_AT_THIS_PACE),
                Column(
                    "eta_contest",
                    "Reached at the contest's pace",
                    "date",
                    NOT_AT_THIS_PACE,
                    needs_contest=True,
                ),
                Column("on_track", "By the contest's end", "bool", NO_CONTEST),
            ),
        ),
        Table(
            "days",
            "participation",
            "Participation per day",
            (
                Column("day", "Day", "date"),
                Column("writers", "Writers"),
                Column("reviewers", "Reviewers"),
                Column("new_contributors", "New contributors"),
                Column("submitted", "Entries submitted"),
                Column("reviews", "Reviews"),
            ),
        ),
        Table(
            "hours",
            "participation",
            "Participation per hour of the running contest",
            (
                Column("hour", "Hour", "datetime"),
                Column("writers", "Writers"),
                Column("reviewers", "Reviewers"),
                Column("submitted", "Entries submitted"),
                Column("reviews", "Reviews"),
            ),
            shown=0,
        ),
        Table(
            "teams",
            "participation",
            "Participation per team",
            (
                Column("team", "Team", "str"),
                Column("head_count", "Head count"),
                Column("writers", "Writers"),
                Column("reviewers", "Reviewers"),
                Column("writers_per_head", "Writers per head", "share"),
                Column("reviewers_per_head", "Reviewers per head", "share"),
            ),
            shown=25,
        ),
        Table(
            "backlog",
            "flow",
            "Backlog per category",
            (
                Column("category", "Category", "str", on_page=False),
                Column("name", "Category", "str"),
                Column("waiting", "Waiting for review"),
                Column("age_p50_hours", "Age p50", "hours"),
                Column("age_p90_hours", "Age p90", "hours"),
            ),
        ),
        Table(
            "acceptance",
            "flow",
            "Acceptance per category",
            (
                Column("category", "Category", "str", on_page=False),
                Column("name", "Category", "str"),
                Column("decided", "Decided"),
                Column("accepted", "Accepted"),
                Column("rejected", "Rejected"),
                Column("acceptance_rate", "Acceptance rate", "share"),
            ),
        ),
        Table(
            "reasons",
            "flow",
            "Reasons for rejection",
            (
                Column("reason", "Reason", "str", on_page=False),
                Column("label", "Reason", "str"),
                Column("reviews", "Rejecting reviews"),
                Column("share", "Share of rejections", "share"),
            ),
        ),
        Table(
            "flags",
            "flow",
            "Flags opened and resolved per day",
            (
                Column("day", "Day", "date"),
                Column("kind", "Kind", "str", on_page=False),
                Column("label", "Kind", "str"),
                Column("opened", "Opened"),
                Column("resolved", "Resolved"),
            ),
            shown=30,
        ),
        Table(
            "accuracy",
            "flow",
            "Reviewers by gold accuracy, least accurate first",
            (
                Column("reviewer_id", "Reviewer id", on_page=False),
                Column("name", "Reviewer", "str"),
                Column("answered", "Gold answered"),
                Column("caught", "Caught"),
                Column("missed", "Missed"),
                Column("accuracy", "Accuracy", "share"),
                Column("in_good_standing", "Their reviews count", "bool"),
            ),
            shown=25,
        ),
        Table(
            "rings",
            "flow",
            "Review rings: pairs who approve each other far more than the drive does",
            (
                Column("ring", "Ring"),
                Column("member_a_id", "Member A id", on_page=False),
                Column("member_a", "Member A", "str"),
                Column("member_b_id", "Member B id", on_page=False),
                Column("member_b", "Member B", "str"),
                Column("reviews_a_to_b", "A reviewed B"),
                Column("approvals_a_to_b", "A approved B"),
                Column("reviews_b_to_a", "B reviewed A"),
                Column("approvals_b_to_a", "B approved A"),
                Column("approval_rate", "Pair's approval rate", "share"),
                Column("drive_rate", "Drive's approval rate", "share"),
                Column("p_value", "p-value", "float"),
            ),
        ),
    )
}

# The table `?format=csv|parquet` gives when `?table=` names none.
MAIN_TABLE = {"progress": "categories", "participation": "days", "flow": "backlog"}

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
}


def tables_of(endpoint: str) -> list[Table]:
    return [table for table in TABLES.values() if table.endpoint == endpoint]


def table_frame(figures: DriveFigures, table: Table, *, rows: int | None = None) -> pd.DataFrame:
    """The table's columns, in order, typed by their kind (as Parquet stores them); its first
    `rows` rows only, if given."""
    frame = figures.frames[table.name].reindex(columns=table.column_names)
    frame = (frame if rows is None else frame.head(rows)).copy()
    for column in table.columns:
        frame[column.name] = _typed(frame[column.name], column.kind)
    return frame.reset_index(drop=True)


def _typed(values: pd.Series, kind: str) -> pd.Series:
    if kind == "int":
        return values.fillna(0).astype("int64")
    if kind in ("float", "share", "hours"):
        # No infinity either: strict JSON has neither it nor NaN (None stands for both).
        return (
            pd.to_numeric(values, errors="coerce")
            .astype("float64")
            .replace([np.inf, -np.inf], np.nan)
        )
    if kind == "bool":
        return values.astype("boolean")
    if kind == "str":
        return values.fillna("").astype(str)
    if kind == "datetime":
        return pd.to_datetime(values, utc=True)
    return values.astype(object).where(values.notna(), None)  # dates stay datetime.date


def _empty(value) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


def _plain(value, kind: str):
    """A cell as JSON and CSV carry it: None, int, float, str, bool, or an ISO date(time)."""
    if _empty(value):
        return None
    if kind == "int":
        return int(value)
    if kind in ("float", "share", "hours"):
        return float(value)
    if kind == "bool":
        return bool(value)
    if kind == "datetime":
        return timezone.localtime(value.to_pydatetime()).isoformat()
    if kind == "date":
        return value.isoformat()
    return str(value)


def table_records(figures: DriveFigures, table: Table) -> list[dict]:
    """The rows as JSON objects, column by column."""
    frame = table_frame(figures, table)
    return [
        {
            column.name: _plain(value, column.kind)
            for column, value in zip(table.columns, row, strict=True)
        }
        for row in frame.itertuples(index=False, name=None)
    ]


def table_csv(figures: DriveFigures, table: Table) -> bytes:
    """The table as CSV; a cell a spreadsheet would run as a formula gets an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.column_names)
    for record in table_records(figures, table):
        writer.writerow(spreadsheet_safe(["" if v is None else v for v in record.values()]))
    return out.getvalue().encode("utf-8")


_ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "share": pa.float64(),
    "hours": pa.float64(),
    "str": pa.string(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "bool": pa.bool_(),
}


def arrow_schema(table: Table) -> pa.Schema:
    """The table's Parquet schema, from its columns' kinds: every file of a table has the same
    one, also when a column holds no value (pandas alone would write such a column as null)."""
    return pa.schema(
        [
            pa.field(column.name, _ARROW_TYPES[column.kind], column.nullable)
            for column in table.columns
        ]
    )


def table_parquet(figures: DriveFigures, table: Table) -> bytes:
    frame = table_frame(figures, table)
    arrow = pa.Table.from_pandas(frame, schema=arrow_schema(table), preserve_index=False)
    out = io.BytesIO()
    pq.write_table(arrow, out)
    return out.getvalue()


def table_file(figures: DriveFigures, table: Table, file_format: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the table in `file_format` (a key of FORMATS)."""
    content_type, extension = FORMATS[file_format]
    content = (table_csv if file_format == "csv" else table_parquet)(figures, table)
    stamp = timezone.localtime(figures.computed_at).strftime("%Y%m%d-%H%M")
    return content, content_type, f"drive-{table.name}-{stamp}.{extension}"


# --- On the page -----------------------------------------------------------------------------


def _shown(value, column: Column, *, figures: DriveFigures) -> str:
    if column.needs_contest and figures.contest is None:
        return NO_CONTEST
    if _empty(value):
        return column.empty
    if column.kind == "share":
        return f"{value:.0%}" if value < 10 else f"{value:.1f}"
    if column.kind == "hours":
        return _hours(value)
    if column.kind == "float":
        return f"{value:.2g}" if value < 0.01 else f"{value:,.1f}"
    if column.kind == "bool":
        return "yes" if value else "no"
    if column.kind == "date":
        this_year = value.year == timezone.localtime(figures.computed_at).year
        return formats.date_format(value, "D j M" if this_year else "D j M Y")
    if column.kind == "datetime":
        return formats.date_format(timezone.localtime(value.to_pydatetime()), "D j M, H:i")
    if column.kind == "int":
        return f"{int(value):,}"
    return str(value)


def _hours(hours: float) -> str:
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


@dataclass(frozen=True)
class ShownTable:
    table: Table
    rows: list[list[tuple[str, str]]]  # (label, text) per cell
    total: int  # rows in the downloads


def table_shown(figures: DriveFigures, name: str) -> ShownTable:
    """The table as the page shows it: its first `shown` rows, every cell as text, the page's
    columns only (those the headers name)."""
    table = TABLES[name]
    total = len(figures.frames[name])
    columns = table.page_columns
    frame = table_frame(figures, table, rows=table.shown)[[column.name for column in columns]]
    rows = [
        [
            (column.label, _shown(value, column, figures=figures))
            for column, value in zip(columns, row, strict=True)
        ]
        for row in frame.itertuples(index=False, name=None)
    ]
    return ShownTable(table=table, rows=rows, total=total)


def hours_label(hours: float | None) -> str:
    return "—" if hours is None else _hours(hours)
