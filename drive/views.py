"""The drive dashboard page (staff): the cached figures, their pictures and their tables."""

from collections import namedtuple

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse

from annotation.roles import is_moderator
from config import charts
from drive import tables
from drive.figures import SERVE_INTERVALS, DriveFigures, drive_figures

Series = namedtuple("Series", "name points")


@login_required
def dashboard(request):
    if not is_moderator(request.user):
        raise PermissionDenied("The drive dashboard is for organisers and moderators (staff).")
    figures = drive_figures()
    context = {
        "figures": figures,
        "summary": figures.summary,
        "refresh": _refresh_words(),
        "tables": {name: _table(figures, name) for name in tables.TABLES},
        **_headline(figures),
        **_pictures(figures),
    }
    return render(request, "drive/dashboard.html", context)


def _refresh_words() -> str:
    """How fresh the figures are kept, for the page to say: by the beat job every interval where
    there is a broker (and so beat), else by the first request once they are
    figures.SERVE_INTERVALS intervals old (the SQLite demo, tasks in-process)."""
    seconds = settings.FLOCK_DRIVE_CACHE_SECONDS
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return f"recomputed when {_duration(seconds * SERVE_INTERVALS, 'old')}"
    return f"refreshed every {_duration(seconds)}"


def _duration(seconds: int, suffix: str = "") -> str:
    if seconds == 60 and not suffix:
        words = "minute"
    elif seconds % 60 == 0:
        words = f"{seconds // 60} minutes"
    else:
        words = f"{seconds} seconds"
    return f"{words} {suffix}".strip()


def _table(figures: DriveFigures, name: str) -> dict:
    table = tables.TABLES[name]
    url = reverse(f"api-drive-{table.endpoint}")
    return {
        "shown": tables.table_shown(figures, name),
        "csv": f"{url}?format=csv&table={name}",
        "parquet": f"{url}?format=parquet&table={name}",
    }


def _headline(figures: DriveFigures) -> dict:
    """What the page answers first: will the targets be met, and where the backlog is."""
    progress = figures.frames["categories"]
    backlog = figures.frames["backlog"]
    busiest = backlog.iloc[0] if len(backlog) and backlog.iloc[0]["waiting"] > 0 else None
    return {
        "category_count": len(progress),
        "short": list(progress.loc[progress["on_track"].map(lambda on: on is False), "name"]),
        "busiest": busiest,
        "waiting_p50": tables.hours_label(figures.summary.waiting_p50_hours),
        "waiting_p90": tables.hours_label(figures.summary.waiting_p90_hours),
        "decision_p50": tables.hours_label(figures.summary.decision_p50_hours),
        "decision_p90": tables.hours_label(figures.summary.decision_p90_hours),
        "top_share": _percent(figures.summary.top_share),
        "agreement": _percent(figures.summary.agreement_rate),
        "drive_rate": _percent(figures.summary.drive_approval_rate),
        "ring_min_reviews": settings.FLOCK_RING_MIN_REVIEWS,
    }


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def _pictures(figures: DriveFigures) -> dict:
    frames = figures.frames
    progress, days, hours = frames["categories"], frames["days"], frames["hours"]
    pictures = {
        "target_chart": charts.target_chart(
            list(
                zip(
                    progress["name"],
                    progress["accepted"],
                    progress["in_review"],
                    progress["target"],
                    strict=True,
                )
            )
        ),
        "days_chart": charts.line_chart(
            _series(days, "day", ("writers", "reviewers")), max_labels=7
        ),
        "backlog_chart": charts.bar_chart(
            list(zip(frames["backlog"]["name"], frames["backlog"]["waiting"], strict=True))
        ),
        "reasons_chart": charts.bar_chart(
            list(zip(frames["reasons"]["label"], frames["reasons"]["reviews"], strict=True))
        ),
        "hours_chart": None,
    }
    if len(hours) > 1:
        pictures["hours_chart"] = charts.line_chart(
            _series(hours, "hour", ("writers", "reviewers")),
            label=lambda hour: hour.strftime("%a %H:00"),
            max_labels=7,
        )
    return pictures


def _series(frame, at: str, columns) -> list[Series]:
    moments = list(frame[at])
    return [
        Series(name=column, points=list(zip(moments, map(int, frame[column]), strict=True)))
        for column in columns
    ]
