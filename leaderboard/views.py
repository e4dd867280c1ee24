"""Leaderboard, points and contest admin pages: parse, call a service or selector, render."""

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from annotation.roles import is_moderator
from config import charts
from config.errors import DomainError
from leaderboard import selectors, services
from leaderboard.csv_safety import spreadsheet_safe
from leaderboard.forms import contest_form
from leaderboard.models import Contest


def _contest_pictures(contest: Contest, viewer, board: selectors.Board) -> dict:
    progress = selectors.contest_progress(contest=contest, viewer=viewer, board=board)
    mix = selectors.category_mix(contest=contest)
    return {
        "progress_chart": charts.line_chart(progress) if progress else None,
        "mix_chart": charts.bar_chart([(c.name, n) for c, n in mix]),
    }


@login_required
def leaderboard(request):
    """The running contest's live board, or the all-time / team board (?scope=)."""
    scope = request.GET.get("scope", "contest")
    context = {"scope": scope, "contests": selectors.contest_list()[:20]}
    if scope == "all-time":
        context["board"] = selectors.board_all_time(viewer=request.user)
        context["mix_chart"] = charts.bar_chart([(c.name, n) for c, n in selectors.category_mix()])
    elif scope == "team":
        context["board"] = selectors.board_teams(viewer=request.user)
    else:
        contest = services.contest_for_moment(timezone.now())
        if contest is not None:
            context["board"] = selectors.board_contest(contest=contest, viewer=request.user)
            context.update(_contest_pictures(contest, request.user, context["board"]))
    return render(request, "leaderboard/leaderboard.html", context)


@login_required
def contest_board(request, contest_id: int):
    contest = get_object_or_404(Contest, pk=contest_id)
    board = selectors.board_contest(contest=contest, viewer=request.user)
    context = {
        "scope": "contest",
        "contests": selectors.contest_list()[:20],
        "board": board,
        **_contest_pictures(contest, request.user, board),
    }
    return render(request, "leaderboard/leaderboard.html", context)


@login_required
def my_points(request):
    return render(
        request,
        "leaderboard/points.html",
        {
            "events": selectors.points_for_user(user=request.user),
            "total": selectors.points_total(user=request.user),
            "rules": {
                "accepted": settings.FLOCK_POINTS_ACCEPTED,
                "review": settings.FLOCK_POINTS_REVIEW,
                "bonus": settings.FLOCK_POINTS_SHORT_CATEGORY_BONUS,
            },
        },
    )


def _admin(request) -> None:
    if not is_moderator(request.user):
        raise PermissionDenied("Contests are run by contest admins (staff).")


@login_required
def contest_admin(request, contest_id: int | None = None):
    """List contests and create or edit one (staff only)."""
    _admin(request)
    contest = get_object_or_404(Contest, pk=contest_id) if contest_id else None
    form = contest_form()(request.POST or None, instance=contest)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.contest_save(
                    actor=request.user,
                    values=form.contest_values(),
                    contest=contest,
                    focus=form.cleaned_data["focus_categories"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"{saved.name} saved.")
                return redirect("leaderboard:contest_admin")
        status = 400
    return render(
        request,
        "leaderboard/contest_admin.html",
        {"form": form, "contest": contest, "contests": selectors.contest_list()},
        status=status,
    )


@login_required
@require_POST
def contest_finalize(request, contest_id: int):
    """Finalise a contest that is due; before then the service says when it will be."""
    _admin(request)
    contest = get_object_or_404(Contest, pk=contest_id)
    try:
        services.contest_finalize(contest=contest, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{contest.name} is finalised; its standings are frozen.")
    return redirect("leaderboard:contest_admin")


@login_required
def contest_standings_csv(request, contest_id: int):
    """The standings as a spreadsheet; until the contest is finalised the file is provisional:
    named standings-<id>-provisional.csv, its "final" column False and no winners marked."""
    _admin(request)
    contest = get_object_or_404(Contest, pk=contest_id)
    rows = selectors.standings_for_csv(contest=contest)
    final = contest.is_finalized
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"standings-{contest.pk}.csv" if final else f"standings-{contest.pk}-provisional.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(["rank", "name", "points", "accepted", "reviews", "winner", "final"])
    for row in rows:
        winner = "" if row.is_winner is None else row.is_winner
        writer.writerow(
            spreadsheet_safe(
                [row.rank, row.name, row.points, row.accepted, row.reviews, winner, final]
            )
        )
    return response
