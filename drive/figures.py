"""The drive's figures, computed in pandas from drive/selectors.py's aggregate frames, and cached
as one set (Django's cache: Redis when REDIS_URL is set).

A beat job (drive.tasks.drive_refresh) recomputes them every FLOCK_DRIVE_CACHE_SECONDS; the
page, its downloads and the API all read `drive_figures()`, which serves the cached set, however
many organisers watch. Days and hours are the company's (settings.TIME_ZONE).
"""

import dataclasses
import datetime
import logging
import math
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import RedisError

from annotation.models import OUTCOME_OF_VERDICT, EntryStatus, FlagKind, Outcome, RejectReason
from config.caching import cache_failed, cache_skipped
from drive import rings, selectors
from leaderboard import selectors as leaderboard

log = logging.getLogger(__name__)

DAYS = 14  # the participation and flag charts look this far back
TOP_SHARE = 0.05  # "the top 5% of contributors"
NO_TEAM = "(no team)"
FORECAST_DAYS = 3650  # a target further away than ~10 years is "not at this pace"
CONTEST_PACE_MIN_SECONDS = 3600  # the contest's pace divides by at least an hour


@dataclass(frozen=True)
class ContestWindow:
    name: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime


@dataclass(frozen=True)
class Summary:
    """The single numbers beside the tables."""

    contributors: int = 0  # people who submitted or reviewed in the window
    top_count: int = 0  # how many people make the top 5%
    top_share: float | None = None  # their share of the work (submitted entries + reviews)
    waiting: int = 0  # entries under review
    waiting_p50_hours: float | None = None
    waiting_p90_hours: float | None = None
    decided: int = 0
    decision_p50_hours: float | None = None
    decision_p90_hours: float | None = None
    agreement_reviews: int = 0
    agreement_agreed: int = 0
    agreement_rate: float | None = None
    drive_approval_rate: float | None = None
    on_track: int = 0  # categories reaching their target by the contest's end (24 h pace)


@dataclass(frozen=True)
class DriveFigures:
    computed_at: datetime.datetime
    contest: ContestWindow | None
    summary: Summary
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


# --- The cache -------------------------------------------------------------------------------
#
# The beat job drive.tasks.drive_refresh recomputes the figures every FLOCK_DRIVE_CACHE_SECONDS
# and stores them; the page and the API only read them. A request computes only when nothing
# servable is cached (the first visit, a demo without celery beat, a stopped worker), and then
# one request at a time: the others wait for it, up to WAIT_SECONDS, then compute anyway.

SERVE_INTERVALS = 3  # figures this many intervals old are still served (the job may be late)
KEEP_INTERVALS = 10  # how long the cache keeps them: comfortably longer than they are served
FIGURES_VERSION = 2  # part of the cache key: bump when DriveFigures or a frame changes shape
LOCK_SECONDS = 120  # the lock lapses by itself if its holder dies mid-computation
WAIT_SECONDS = 10.0  # a request waits this long for another's computation, then computes
POLL_SECONDS = 0.1


def cache_key() -> str:
    """The figures' cache key, under FLOCK_REDIS_PREFIX as it is now (read at each call: the
    tests and the benchmark give themselves a prefix of their own, and must never touch a live
    instance's figures in a shared Redis), with the figures' version."""
    return f"{settings.FLOCK_REDIS_PREFIX}drive:figures:v{FIGURES_VERSION}"


def lock_key() -> str:
    return f"{cache_key()}:computing"


def drive_figures(*, now: datetime.datetime | None = None) -> DriveFigures:
    """The figures the page and the API show: the cached ones while they are servable (by their
    own `computed_at`, so that an age is read on Flock's clock), else computed, by one request
    at a time."""
    now = now or timezone.now()
    cached = _cache_get()
    if cached is not None and _servable(cached, now):
        return cached
    return _compute_once(now)


def figures_refresh(*, now: datetime.datetime | None = None) -> DriveFigures:
    """Compute the figures and cache them: the beat job's work, so that no request pays for it.
    It holds the lock while computing (requests finding nothing cached wait for it), and
    computes even when another holds it: the job is what keeps the figures fresh."""
    now = now or timezone.now()
    return _compute_and_store(now, _lock_take())


def _servable(figures: DriveFigures, now: datetime.datetime) -> bool:
    """Fresh enough to serve: under SERVE_INTERVALS intervals old. Down to one interval "in the
    future" too: a worker's clock a little ahead of this host's (or this clock stepping back)
    must not leave every request computing for itself."""
    interval = settings.FLOCK_DRIVE_CACHE_SECONDS
    age = (now - figures.computed_at).total_seconds()
    return -interval <= age < interval * SERVE_INTERVALS


def _compute_once(now: datetime.datetime) -> DriveFigures:
    """Compute for this request, unless another request (or the job) is computing: then wait
    for its figures. The wait is bounded (WAIT_SECONDS): a computer that died, or one slower
    than that, must not leave the page hanging, so after it this request computes too."""
    token = _lock_take()
    if token is None:
        waited = _wait_for_figures(now)
        if waited is not None:
            return waited
    return _compute_and_store(now, token)


def _compute_and_store(now: datetime.datetime, token) -> DriveFigures:
    """Compute, cache, and let go of the lock taken (`token`; None when another held it)."""
    try:
        figures = figures_compute(now=now)
        _cache_set(figures)
    finally:
        _lock_release(token)
    return figures


def _wait_for_figures(now: datetime.datetime) -> DriveFigures | None:
    """The figures another computer stores while we wait; None when the wait runs out or the
    computer gave up (its lock gone and nothing servable stored)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        cached = _cache_get()
        if cached is not None and _servable(cached, now):
            return cached
        if not _lock_held():
            return None
    log.warning("drive figures: still computing elsewhere after %s s; computing here", WAIT_SECONDS)
    return None


def _lock_take() -> str | None:
    """A token when this process may compute (the lock taken, or no cache to lock in); None
    when another holds the lock."""
    if cache_skipped():
        return ""
    token = uuid.uuid4().hex
    try:
        return token if cache.add(lock_key(), token, timeout=LOCK_SECONDS) else None
    except RedisError:
        cache_failed("a write (the drive figures' lock: computed without it)")
        return ""


def _lock_held() -> bool:
    if cache_skipped():
        return False
    try:
        return cache.get(lock_key()) is not None
    except RedisError:
        cache_failed("a read (the drive figures' lock)")
        return False


def _lock_release(token: str | None) -> None:
    """Release the lock if it is still ours (it may have lapsed and been taken by another)."""
    if not token:
        return
    try:
        if cache.get(lock_key()) == token:
            cache.delete(lock_key())
    except RedisError:
        cache_failed("a delete (the drive figures' lock: it lapses by itself)")


def _cache_get() -> DriveFigures | None:
    if cache_skipped():
        return None
    try:
        cached = cache.get(cache_key())
    except RedisError:
        cache_failed("a read (the drive figures: computed afresh)")
        return None
    return cached if isinstance(cached, DriveFigures) else None


def _cache_set(figures: DriveFigures) -> None:
    timeout = settings.FLOCK_DRIVE_CACHE_SECONDS * KEEP_INTERVALS
    try:
        cache.set(cache_key(), figures, timeout=timeout)
    except RedisError:
        cache_failed("a write (the drive figures: not cached)")


def figures_forget() -> None:
    """Drop the cached figures (and any lock): the next read computes them afresh (tests start
    from here)."""
    try:
        cache.delete_many([cache_key(), lock_key()])
    except RedisError:
        cache_failed("a delete (the drive figures: nothing forgotten)")


# --- Computing -------------------------------------------------------------------------------


def figures_compute(*, now: datetime.datetime) -> DriveFigures:
    zone = timezone.get_default_timezone()
    today = timezone.localtime(now, zone).date()
    days = [today - datetime.timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    since = datetime.datetime.combine(days[0], datetime.time.min, tzinfo=zone)
    running = leaderboard.contest_at(now)
    contest = ContestWindow(running.name, running.starts_at, running.ends_at) if running else None
    with selectors.one_reading():
        counts = selectors.entry_counts(
            day_ago=now - datetime.timedelta(hours=24),
            contest_start=contest.starts_at if contest else None,
        )
        categories = progress_counts(selectors.active_categories(), counts)
        decided = decided_counts(counts)
        writing, reviewing = _dated(selectors.writing_days()), _dated(selectors.reviewing_days())
        teams = selectors.teams()
        people = selectors.team_of_people()
        hours = hours_table(contest, now=now, zone=zone)
        backlog, waiting = backlog_table(backlog_buckets(counts), categories, now=now)
        decision = decision_times(selectors.decision_waits())
        outcomes = selectors.standing_outcomes()
        agreement = agreement_of(selectors.verdicts_against_decisions())
        reasons = reasons_table(selectors.rejection_reasons())
        flags = flags_table(*selectors.flags_by_day(since=since))
        accuracy = accuracy_table(selectors.gold_accuracy_rows(), names=selectors.names)
        drive_rate = approval_rate(reviewing)
        rings_found = rings.review_rings(
            selectors.review_pairs(min_reviews=settings.FLOCK_RING_MIN_REVIEWS),
            drive_rate=drive_rate,
            names=selectors.names,
        )
    work = work_in_window(writing, reviewing, first_day=pd.Timestamp(days[0]))
    progress = progress_table(categories, decided, now=now, contest=contest)
    top = top_share(work)
    frames = {
        "categories": progress,
        "days": days_table(days, writing, reviewing),
        "hours": hours,
        "teams": teams_table(teams, work, people),
        "backlog": backlog,
        "acceptance": acceptance_table(outcomes, categories),
        "reasons": reasons,
        "flags": flags,
        "accuracy": accuracy,
        "rings": rings_found,
    }
    summary = _finite_summary(
        Summary(
            contributors=top["contributors"],
            top_count=top["top_count"],
            top_share=top["share"],
            waiting=waiting["waiting"],
            waiting_p50_hours=waiting["p50"],
            waiting_p90_hours=waiting["p90"],
            decided=decision["decided"],
            decision_p50_hours=decision["p50"],
            decision_p90_hours=decision["p90"],
            agreement_reviews=agreement["reviews"],
            agreement_agreed=agreement["agreed"],
            agreement_rate=agreement["rate"],
            drive_approval_rate=drive_rate,
            on_track=int(progress["on_track"].map(lambda on: on is True).sum()),
        )
    )
    return DriveFigures(computed_at=now, contest=contest, summary=summary, frames=frames)


def _finite_summary(summary: Summary) -> Summary:
    """The summary with no NaN or infinity (strict JSON has neither): None instead."""
    changes = {
        name: None
        for name, value in dataclasses.asdict(summary).items()
        if isinstance(value, float) and not math.isfinite(value)
    }
    return dataclasses.replace(summary, **changes)


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its "YYYY-MM-DD" day column as datetime64 (grouped without Python)."""
    return frame.assign(day=pd.to_datetime(frame["day"], format="%Y-%m-%d"))


def progress_counts(categories, counts) -> pd.DataFrame:
    """The active categories with their accepted entries (those counting toward the target)
    and entries in review."""
    accepted = counts[counts["toward_target"]].groupby("category_id")["entries"].sum()
    waiting = counts[counts["status"] == EntryStatus.SUBMITTED]
    in_review = waiting.groupby("category_id")["entries"].sum()
    table = categories.copy()
    table["accepted"] = table["category_id"].map(accepted).fillna(0).astype("int64")
    table["in_review"] = table["category_id"].map(in_review).fillna(0).astype("int64")
    return table


def decided_counts(counts) -> pd.DataFrame:
    """Per category and outcome, the decided entries (accepted ones only when they count toward
    the target), and those decided in the last 24 hours and in the contest: the paces of the
    forecast and the acceptance rates."""
    decided = counts[counts["toward_target"] | (counts["status"] == EntryStatus.REJECTED)]
    sums = ["entries", "last_24h", "in_contest"]
    return decided.groupby(["category_id", "status"], as_index=False)[sums].sum()


def backlog_buckets(counts) -> pd.DataFrame:
    """Entries under review per category and minute of submission."""
    waiting = counts[counts["status"] == EntryStatus.SUBMITTED]
    return waiting.rename(columns={"bucket": "minute", "entries": "waiting"})[
        ["category_id", "minute", "waiting"]
    ]


def _per_day(count: float, seconds: float) -> float:
    return count * 86_400 / seconds if seconds > 0 else 0.0


def progress_table(categories, decided, *, now, contest: ContestWindow | None) -> pd.DataFrame:
    """Per active category: target, accepted, in review, and the paces (accepted a day) of the
    last 24 hours and of the running contest so far, with the date each reaches the target.

    The contest's pace divides by at least CONTEST_PACE_MIN_SECONDS: minutes after the start,
    one acceptance is not a pace of hundreds a day. "By the contest's end": the moment the 24 h
    pace reaches the target comes before the contest's `ends_at` (exclusive: Monday 00:00 ends
    Sunday's contest)."""
    accepted = decided[decided["status"] == EntryStatus.ACCEPTED].set_index("category_id")
    table = categories.copy()
    table["remaining"] = (table["target"] - table["accepted"]).clip(lower=0)
    table["pace_24h"] = table["category_id"].map(accepted["last_24h"]).fillna(0).astype(float)
    table["pace_contest"] = np.nan
    if contest is not None:
        elapsed = max((now - contest.starts_at).total_seconds(), CONTEST_PACE_MIN_SECONDS)
        in_contest = table["category_id"].map(accepted["in_contest"]).fillna(0)
        table["pace_contest"] = in_contest.map(lambda n: _per_day(n, elapsed))
    reached_24h = _reached_at(table["remaining"], table["pace_24h"], now)
    table["eta_24h"] = _company_dates(reached_24h)
    table["eta_contest"] = _company_dates(
        _reached_at(table["remaining"], table["pace_contest"], now)
    )
    table["on_track"] = reached_24h.map(
        lambda at: None if contest is None else at is not None and at < contest.ends_at
    )
    return table


def _reached_at(remaining: pd.Series, pace: pd.Series, now: datetime.datetime) -> pd.Series:
    """The moment the target is reached at `pace` (entries a day): now when already reached;
    None when the pace is zero or unknown, or would take over FORECAST_DAYS ("not at this
    pace": such a date means nothing, and past the year 9999 it cannot even be written)."""

    def reached(left: float, per_day: float):
        if left <= 0:
            return now
        if not per_day or math.isnan(per_day) or left / per_day > FORECAST_DAYS:
            return None
        return now + datetime.timedelta(days=left / per_day)

    return pd.Series(
        [reached(left, per_day) for left, per_day in zip(remaining, pace, strict=True)],
        index=remaining.index,
        dtype=object,
    )


def _company_dates(moments: pd.Series) -> pd.Series:
    zone = timezone.get_default_timezone()
    return moments.map(lambda at: None if at is None else timezone.localtime(at, zone).date())


def days_table(days, writing, reviewing) -> pd.DataFrame:
    """Per company day of the window: distinct writers (who submitted) and reviewers, entries
    submitted, reviews, and new contributors (whose first submission ever fell that day)."""
    per_day = pd.DataFrame(
        {
            "writers": writing.groupby("day").size(),
            "submitted": writing.groupby("day")["submitted"].sum(),
            "reviewers": reviewing.groupby("day").size(),
            "reviews": reviewing.groupby("day")["reviews"].sum(),
            "new_contributors": writing.groupby("person")["day"].min().value_counts(),
        }
    )
    counts = ["writers", "reviewers", "new_contributors", "submitted", "reviews"]
    table = per_day.reindex(pd.to_datetime(days))[counts].fillna(0).astype("int64")
    return table.assign(day=days).reset_index(drop=True)[["day", *counts]]


def work_in_window(writing, reviewing, *, first_day) -> pd.DataFrame:
    """Per person who wrote or reviewed since `first_day`: entries submitted and reviews."""
    recent_writing = writing[writing["day"] >= first_day].groupby("person")["submitted"].sum()
    recent_reviews = reviewing[reviewing["day"] >= first_day].groupby("person")["reviews"].sum()
    work = pd.DataFrame({"submitted": recent_writing, "reviews": recent_reviews})
    return work.fillna(0).astype("int64").rename_axis("person").reset_index()


def hours_table(contest: ContestWindow | None, *, now, zone) -> pd.DataFrame:
    """Per hour of the running contest so far: distinct writers and reviewers."""
    columns = ["hour", "writers", "reviewers", "submitted", "reviews"]
    if contest is None:
        return pd.DataFrame(columns=columns)
    start = pd.Timestamp(contest.starts_at).tz_convert(zone).floor("h")
    hours = pd.date_range(start, pd.Timestamp(now).tz_convert(zone).floor("h"), freq="h")
    table = pd.DataFrame({"hour": hours})
    for frame in (
        selectors.writing_hours(since=contest.starts_at),
        selectors.reviewing_hours(since=contest.starts_at),
    ):
        frame["hour"] = pd.to_datetime(frame["hour"], utc=True).dt.tz_convert(zone)
        table = table.merge(frame, on="hour", how="left")
    table[columns[1:]] = table[columns[1:]].fillna(0).astype("int64")
    return table[columns]


def teams_table(teams, work, people) -> pd.DataFrame:
    """Per team: head count, active writers and reviewers in the window, and both per head.
    People without a team are a row of their own when any of them took part."""
    team_of = people.set_index("person")["team_id"]
    work = work.assign(team_id=work["person"].map(team_of))
    active = {"writers": work[work["submitted"] > 0], "reviewers": work[work["reviews"] > 0]}
    table = teams.copy()
    for column, who in active.items():
        table[column] = table["team_id"].map(who.groupby("team_id").size()).fillna(0)
    unteamed = {column: int(who["team_id"].isna().sum()) for column, who in active.items()}
    if any(unteamed.values()):
        heads = int((people["team_id"].isna() & people["counted"].astype(bool)).sum())
        extra = {"team_id": None, "team": NO_TEAM, "head_count": heads, **unteamed}
        table = pd.concat([table, pd.DataFrame([extra])], ignore_index=True)
    table[["writers", "reviewers"]] = table[["writers", "reviewers"]].astype("int64")
    heads = table["head_count"].where(table["head_count"] > 0)
    table["writers_per_head"] = table["writers"] / heads
    table["reviewers_per_head"] = table["reviewers"] / heads
    order = ["writers_per_head", "team"]
    return table.sort_values(order, ascending=[False, True], ignore_index=True)


def top_share(work) -> dict:
    """The share of the window's work (entries submitted + reviews) done by its top 5% of
    contributors (at least one person), among those who did any."""
    done = (work["submitted"] + work["reviews"]).sort_values(ascending=False)
    done = done[done > 0]
    if done.empty:
        return {"contributors": 0, "top_count": 0, "share": None}
    top_count = max(1, math.ceil(len(done) * TOP_SHARE))
    share = float(done.iloc[:top_count].sum() / done.sum())
    return {"contributors": len(done), "top_count": top_count, "share": share}


def approval_rate(reviewing) -> float | None:
    """The drive's approval rate: approvals among all reviews ever recorded."""
    total = int(reviewing["reviews"].sum())
    return float(reviewing["approvals"].sum() / total) if total else None


def weighted_quantiles(values, weights, quantiles=(0.5, 0.9)) -> list[float | None]:
    """Quantiles of `values` repeated `weights` times (pandas' linear interpolation); values
    unknown (NaN, say an entry under review without a submission time) are left out."""
    values = np.asarray(values, dtype=float)
    known = np.isfinite(values)
    weights = np.asarray(weights, dtype=float)[known].astype(int)
    expanded = pd.Series(np.repeat(values[known], weights))
    if expanded.empty:
        return [None for _ in quantiles]
    return [float(expanded.quantile(q)) for q in quantiles]


def backlog_table(buckets, categories, *, now) -> tuple[pd.DataFrame, dict]:
    """Per active category, entries under review and their age (hours since submission) p50 and
    p90; and the same for the whole backlog."""
    buckets = buckets.assign(age_hours=(now.timestamp() / 60 - buckets["minute"]) / 60)
    rows = []
    for category in categories.itertuples():
        mine = buckets[buckets["category_id"] == category.category_id]
        p50, p90 = weighted_quantiles(mine["age_hours"], mine["waiting"])
        rows.append((category.category, category.name, int(mine["waiting"].sum()), p50, p90))
    columns = ["category", "name", "waiting", "age_p50_hours", "age_p90_hours"]
    table = pd.DataFrame(rows, columns=columns)
    p50, p90 = weighted_quantiles(buckets["age_hours"], buckets["waiting"])
    total = {"waiting": int(buckets["waiting"].sum()), "p50": p50, "p90": p90}
    return table.sort_values("waiting", ascending=False, ignore_index=True), total


def decision_times(waits) -> dict:
    """Hours from the start of a round to its decision, p50 and p90 (selectors.decision_waits)."""
    p50, p90 = weighted_quantiles(waits["minutes"] / 60, waits["entries"])
    return {"decided": int(waits["entries"].sum()), "p50": p50, "p90": p90}


def acceptance_table(outcomes, categories) -> pd.DataFrame:
    """Per active category: rounds decided (by the decisions that stand), accepted, rejected,
    and the acceptance rate, accepted / decided."""
    counts = outcomes.pivot_table(
        index="category_id", columns="outcome", values="rounds", aggfunc="sum", fill_value=0
    )
    table = categories[["category_id", "category", "name"]].copy()
    for outcome in (Outcome.ACCEPTED, Outcome.REJECTED):
        column = counts[outcome] if outcome in counts else pd.Series(dtype="int64")
        table[str(outcome)] = table["category_id"].map(column).fillna(0).astype("int64")
    table["decided"] = table["accepted"] + table["rejected"]
    table["acceptance_rate"] = table["accepted"] / table["decided"].where(table["decided"] > 0)
    return table


def reasons_table(reasons) -> pd.DataFrame:
    """Rejecting reviews per reason (a review may give several), with the reason's label and its
    share of the rejecting reviews."""
    rejecting = int(reasons["reviews"].sum())
    exploded = reasons.explode("reasons").dropna(subset=["reasons"])
    counts = exploded.groupby("reasons")["reviews"].sum()
    labels = dict(RejectReason.choices)
    table = pd.DataFrame(
        {
            "reason": counts.index.astype(str),
            "label": [labels.get(reason, reason) for reason in counts.index],
            "reviews": counts.to_numpy(dtype="int64"),
        }
    )
    table["share"] = table["reviews"] / rejecting if rejecting else np.nan
    return table.sort_values(["reviews", "reason"], ascending=[False, True], ignore_index=True)


def flags_table(opened, resolved) -> pd.DataFrame:
    """Flags opened and resolved per company day and kind, newest day first."""
    table = opened.merge(resolved, on=["day", "kind"], how="outer")
    table[["opened", "resolved"]] = table[["opened", "resolved"]].fillna(0).astype("int64")
    labels = dict(FlagKind.choices)
    table["label"] = table["kind"].map(lambda kind: labels.get(kind, kind))
    table = table.sort_values(["day", "kind"], ascending=[False, True], ignore_index=True)
    return table[["day", "kind", "label", "opened", "resolved"]]


def agreement_of(verdicts) -> dict:
    """Reviews of decided rounds that agree with the round's standing decision
    (annotation.models.OUTCOME_OF_VERDICT)."""
    agrees = verdicts["verdict"].map(OUTCOME_OF_VERDICT) == verdicts["outcome"]
    reviews = int(verdicts["reviews"].sum())
    agreed = int(verdicts.loc[agrees, "reviews"].sum())
    return {"reviews": reviews, "agreed": agreed, "rate": agreed / reviews if reviews else None}


def accuracy_table(rows: list[dict], *, names) -> pd.DataFrame:
    """Reviewers by gold accuracy, the least accurate first (those a moderator should look at),
    in the order annotation.selectors.gold_accuracy_table gives them; named for moderators
    ("Display (username)", `names`)."""
    columns = [
        "reviewer_id",
        "name",
        "answered",
        "caught",
        "missed",
        "accuracy",
        "in_good_standing",
    ]
    table = pd.DataFrame.from_records(rows, columns=columns)
    named = names(set(table["reviewer_id"])) if len(table) else {}
    table["name"] = [
        named.get(pk, name) for pk, name in zip(table["reviewer_id"], table["name"], strict=True)
    ]
    return table
