"""The drive dashboard's reads: a few aggregate queries, each loaded into a pandas DataFrame.

Every row is a group (a category, a day, a person, a minute of waiting), never a model object,
so the dashboard costs the same few queries at 150,000 entries as at 15; drive/figures.py turns
the frames into figures. Days and hours are the company's (settings.TIME_ZONE).
"""

import datetime
from contextlib import contextmanager

import pandas as pd
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Cast, Coalesce, Floor, Greatest, TruncDate, TruncHour
from django.utils import timezone

from annotation import selectors as annotation
from annotation.models import (
    Category,
    Decision,
    Entry,
    EntryStatus,
    Flag,
    Overturn,
    OverturnVerdict,
    Review,
    Team,
    Verdict,
    staff_name,
)

DECIDED = (EntryStatus.ACCEPTED, EntryStatus.REJECTED)  # the statuses of a decided entry


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def _plain_frame(queryset: QuerySet, columns: list[str]) -> pd.DataFrame:
    """The queryset's rows as the database driver gives them, without Django's conversion of
    each value (which costs more than the query for tens of thousands of rows): only for
    columns that need none (numbers, text)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=columns)


@contextmanager
def one_reading():
    """The dashboard's queries in one transaction, with room to group in memory: on PostgreSQL
    the grouping of reviews by pair outgrows the default work_mem (4 MB) and would spill to
    disk, at twice the time."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def _company_zone():
    return timezone.get_default_timezone()


class _EpochSeconds(Func):
    """Seconds since 1970 of a moment, computed in the database (PostgreSQL or SQLite), so that
    waits can be grouped by the minute there instead of fetched entry by entry."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="date_part('epoch', %(expressions)s)")

    def as_sqlite(self, compiler, connection, **extra):
        # Rounded to the millisecond: julianday() carries a few microseconds of error, which
        # must not move a moment on the minute into the minute before.
        template = "ROUND((julianday(%(expressions)s) - 2440587.5) * 86400.0, 3)"
        return self.as_sql(compiler, connection, template=template)


def _whole_minutes(seconds):
    return Cast(Floor(seconds / 60.0), IntegerField())


def _minutes_between(start, end: str):
    return _whole_minutes(_EpochSeconds(F(end)) - _EpochSeconds(start))


def _epoch_minute(moment):
    return _whole_minutes(_EpochSeconds(moment))


def _round_start(entry: str = "", *, before: str | None = None):
    """When the entry's current review round began (for a decision's round: `before` the
    decision): its latest submission, or a moderator's reopen of it when that came later (a
    reopen puts the entry back under review without a new submission, and keeps submitted_at)."""
    reopens = Overturn.objects.filter(
        decision__entry=OuterRef(f"{entry}pk" if entry else "pk"),
        verdict=OverturnVerdict.REOPEN,
    )
    if before is not None:
        reopens = reopens.filter(created_at__lte=OuterRef(before))
    reopened = Subquery(reopens.order_by("-created_at").values("created_at")[:1])
    submitted = F(f"{entry}submitted_at")
    return Greatest(Coalesce(reopened, submitted), submitted)


def _day_text(field: str):
    """The company day of a moment as "YYYY-MM-DD": text needs no conversion row by row on its
    way out of the database (a date does); pandas reads the column in one go."""
    return Cast(TruncDate(field, tzinfo=_company_zone()), CharField())


# --- Progress and flow: one pass over the entries ------------------------------------------


def active_categories() -> pd.DataFrame:
    """Active categories with their target, in the writing page's order."""
    rows = Category.objects.filter(is_active=True).values_list(
        "pk", "slug", "name", "position", "target_count"
    )
    columns = ["category_id", "category", "name", "position", "target"]
    return _frame(rows, columns).sort_values(["position", "category"], ignore_index=True)


def entry_counts(
    *, day_ago: datetime.datetime, contest_start: datetime.datetime | None
) -> pd.DataFrame:
    """One grouped pass over the entries under review and decided, for progress, the forecast,
    acceptance, the backlog and the waits to a decision (drive/figures.py sums the groups).

    Per category, status, `toward_target` (annotation.selectors.counts_toward_target: accepted
    and not imported, the one rule for what counts toward a target) and `bucket`: for an entry
    under review, the minute its round began (_round_start; minutes since 1970, UTC: its age),
    else None. Counted: entries, those decided since `day_ago`, and since `contest_start` (0
    without a contest).
    """
    toward = ExpressionWrapper(annotation.counts_toward_target(), output_field=BooleanField())
    bucket = Case(
        When(status=EntryStatus.SUBMITTED, then=_epoch_minute(_round_start())),
        default=None,
        output_field=IntegerField(),
    )
    since_contest = Q(decided_at__gte=contest_start) if contest_start else Q(pk__isnull=True)
    rows = (
        Entry.objects.filter(status__in=(EntryStatus.SUBMITTED, *DECIDED))
        .annotate(toward_target=toward, bucket=bucket)
        .order_by()
        .values_list("category_id", "status", "toward_target", "bucket")
        .annotate(
            entries=Count("id"),
            last_24h=Count("id", filter=Q(decided_at__gte=day_ago)),
            in_contest=Count("id", filter=since_contest),
        )
    )
    columns = ["category_id", "status", "toward_target", "bucket", "entries"]
    frame = _plain_frame(rows, [*columns, "last_24h", "in_contest"])
    return frame.astype({"toward_target": bool, "bucket": "float64"})


# --- Participation ---------------------------------------------------------------------------


def writing_days() -> pd.DataFrame:
    """Entries submitted per writer and company day, since the drive began: who wrote on which
    day, each writer's first day, and the work per person all come from these rows."""
    rows = (
        Entry.objects.filter(author__isnull=False, submitted_at__isnull=False)
        .annotate(day=_day_text("submitted_at"))
        .order_by()
        .values_list("author_id", "day")
        .annotate(submitted=Count("id"))
    )
    return _plain_frame(rows, ["person", "day", "submitted"])


def reviewing_days() -> pd.DataFrame:
    """Reviews and approvals per reviewer and company day, since the drive began."""
    rows = (
        Review.objects.annotate(day=_day_text("created_at"))
        .order_by()
        .values_list("reviewer_id", "day")
        .annotate(reviews=Count("id"), approvals=Count("id", filter=Q(verdict=Verdict.APPROVE)))
    )
    return _plain_frame(rows, ["person", "day", "reviews", "approvals"])


def writing_hours(*, since: datetime.datetime) -> pd.DataFrame:
    """Entries submitted and distinct writers per company hour since `since`."""
    rows = (
        Entry.objects.filter(submitted_at__gte=since, author__isnull=False)
        .annotate(hour=TruncHour("submitted_at", tzinfo=_company_zone()))
        .order_by()
        .values_list("hour")
        .annotate(submitted=Count("id"), writers=Count("author_id", distinct=True))
    )
    return _frame(rows, ["hour", "submitted", "writers"])


def reviewing_hours(*, since: datetime.datetime) -> pd.DataFrame:
    """Reviews and distinct reviewers per company hour since `since`."""
    rows = (
        Review.objects.filter(created_at__gte=since)
        .annotate(hour=TruncHour("created_at", tzinfo=_company_zone()))
        .order_by()
        .values_list("hour")
        .annotate(reviews=Count("id"), reviewers=Count("reviewer_id", distinct=True))
    )
    return _frame(rows, ["hour", "reviews", "reviewers"])


def _counted_heads(prefix: str = "") -> Q:
    """Who a head count counts: active accounts that are not staff (organisers and moderators
    run the drive; a deactivated account no longer can take part)."""
    return Q(**{f"{prefix}is_active": True, f"{prefix}is_staff": False})


def teams() -> pd.DataFrame:
    """Every team with its head count (the counted people whose profile names it)."""
    heads = Count("members", filter=_counted_heads("members__user__"))
    rows = Team.objects.order_by().values_list("id", "name").annotate(head_count=heads)
    return _frame(rows, ["team_id", "team", "head_count"])


def team_of_people() -> pd.DataFrame:
    """Everyone's team (None without one: no profile, or a profile naming no team), and whether
    they count in a head count."""
    counted = ExpressionWrapper(_counted_heads(), output_field=BooleanField())
    rows = (
        get_user_model()
        .objects.annotate(counted=counted)
        .values_list("pk", "profile__team_id", "counted")
    )
    return _frame(rows, ["person", "team_id", "counted"])


# --- Flow ------------------------------------------------------------------------------------


def rejection_reasons() -> pd.DataFrame:
    """Rejecting reviews per list of reasons given (drive/figures.py counts each reason)."""
    rows = (
        Review.objects.filter(verdict=Verdict.REJECT)
        .order_by()
        .values("reasons")
        .annotate(reviews=Count("id"))
    )
    return _frame(rows, ["reasons", "reviews"])


def flags_by_day(*, since: datetime.datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flags opened, and flags resolved, per company day and kind since `since`."""
    zone = _company_zone()
    opened = (
        Flag.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day", "kind")
        .annotate(opened=Count("id"))
    )
    resolved = (
        Flag.objects.filter(resolved_at__gte=since)
        .annotate(day=TruncDate("resolved_at", tzinfo=zone))
        .order_by()
        .values("day", "kind")
        .annotate(resolved=Count("id"))
    )
    return _frame(opened, ["day", "kind", "opened"]), _frame(resolved, ["day", "kind", "resolved"])


def decision_waits() -> pd.DataFrame:
    """Decisions per whole minute from the start of their round (_round_start: the submission,
    or a reopen) to the decision. Every decision the review process made counts, also one a
    moderator later overturned (the reviewers took that long); a moderator's overturn decision
    (Decision.overturn set) does not: its time is the moderator's, not the review's. Imported
    entries have no decisions."""
    decisions = Decision.objects.filter(overturn__isnull=True, entry__submitted_at__isnull=False)
    reopened = Exists(
        Overturn.objects.filter(decision__entry=OuterRef("entry"), verdict=OverturnVerdict.REOPEN)
    )
    # Reopens are rare: the entries never reopened (nearly all) are timed from their submission
    # in one anti-join; only the few reopened ones look their round's start up row by row.
    never = decisions.filter(~reopened).annotate(started=F("entry__submitted_at"))
    again = decisions.filter(reopened).annotate(
        started=_round_start("entry__", before="created_at")
    )
    frames = [_waits(part) for part in (never, again)]
    waits = pd.concat(frames, ignore_index=True).astype({"minutes": "float64"})
    return waits.groupby("minutes", as_index=False)["entries"].sum()


def _waits(decisions) -> pd.DataFrame:
    rows = (
        decisions.filter(created_at__gte=F("started"))
        .annotate(minutes=_minutes_between(F("started"), "created_at"))
        .order_by()
        .values_list("minutes")
        .annotate(entries=Count("id"))
    )
    return _plain_frame(rows, ["minutes", "entries"])


def standing_outcomes() -> pd.DataFrame:
    """Decided rounds per category and outcome, by the decisions that stand
    (annotation.selectors.decisions_current): a round whose entry was later revised and sent
    back for review stays decided, an overturned decision counts as the one that replaced it."""
    rows = (
        annotation.decisions_current()
        .order_by()
        .values_list("entry__category_id", "outcome")
        .annotate(rounds=Count("id"))
    )
    return _frame(rows, ["category_id", "outcome", "rounds"])


def verdicts_against_decisions() -> pd.DataFrame:
    """Reviews of decided rounds, per verdict and the round's decision as it stands now
    (annotation.selectors.decisions_current: an overturned decision no longer stands)."""
    rows = (
        annotation.decisions_current()
        .filter(entry__reviews__round=F("round"))
        .order_by()
        .values("outcome", verdict=F("entry__reviews__verdict"))
        .annotate(reviews=Count("entry__reviews"))
    )
    return _frame(rows, ["outcome", "verdict", "reviews"])


def review_pairs(*, min_reviews: int) -> pd.DataFrame:
    """Per reviewer and author, the reviewer's reviews of the author's entries and approvals
    among them; only the directions with at least `min_reviews` (what a ring needs each way)."""
    rows = (
        Review.objects.filter(entry__author__isnull=False)
        .order_by()
        .values("reviewer_id", author_id=F("entry__author_id"))
        .annotate(reviews=Count("id"), approvals=Count("id", filter=Q(verdict=Verdict.APPROVE)))
        .filter(reviews__gte=min_reviews)
    )
    return _plain_frame(rows, ["reviewer_id", "author_id", "reviews", "approvals"])


def names(user_ids) -> dict[int, str]:
    """Moderators' names for people: "Display (username)" (annotation.models.staff_name)."""
    rows = (
        get_user_model()
        .objects.filter(pk__in=[int(pk) for pk in user_ids])
        .values_list("pk", "username", "profile__display_name")
    )
    return {pk: staff_name(display, username) for pk, username, display in rows}


# --- Calibration -----------------------------------------------------------------------------


def gold_accuracy_rows() -> list[dict]:
    """Reviewers by gold accuracy, least accurate first: annotation's own table (its rule for who
    is in good standing)."""
    return annotation.gold_accuracy_table()
