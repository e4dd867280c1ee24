"""Exports pages: snapshots, for data scientists and staff. Thin: parse, call a service or
selector, render."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotation import holds
from annotation.models import Category
from config import charts
from config.errors import DomainError
from exports import dolly, downloads, selectors, services
from exports.models import SnapshotOrigin
from exports.roles import is_data_scientist
from exports.services.snapshots import options
from exports.services.snapshots.retention import PRUNED_TEXT

FIELD_LABELS = {"instruction": "Instruction", "context": "Context", "response": "Response"}


def _data_scientist(request) -> None:
    if not is_data_scientist(request.user):
        raise PermissionDenied("Snapshots are for data scientists and staff.")


def _options_from(post) -> dict:
    """What the form chose. A box left unticked is a choice (no category ticked: every category;
    imported corpora unticked: left out); a field the post lacks takes SnapshotOptions' default."""
    chosen = {
        "categories": post.getlist("categories"),
        "include_imported": "include_imported" in post,
    }
    for name in ("min_approvals", "validation_percent"):
        if name in post:
            chosen[name] = post[name]
    return chosen


@login_required
def snapshot_list(request):
    """Every snapshot with its counts, sizes and checksums, and the form that builds a new one."""
    _data_scientist(request)
    errors, values, status = {}, services.SnapshotOptions().as_dict(), 200
    if request.method == "POST":
        values = _options_from(request.POST)
        try:
            snapshot, created = services.snapshot_request(
                user=request.user,
                options=values,
                request_key=request.POST.get("request_key", ""),
                origin=SnapshotOrigin.BROWSER,
            )
        except ValidationError as exc:
            errors, status = exc.message_dict, 400
            if "request_key" in errors:  # the page's own hidden field: say so at the top
                errors["form"] = ["This form is out of date; reload the page and try again."]
        except DomainError as exc:
            errors, status = {"form": [exc.message]}, exc.status_code
        else:
            if not created:
                messages.info(request, f"That request already made snapshot v{snapshot.version}.")
            return redirect("exports:snapshot_detail", snapshot.pk)
    page = Paginator(selectors.snapshot_list(), 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "latest": selectors.snapshot_latest(),
        "categories": Category.objects.all(),
        "errors": errors,
        "values": values,
        "request_key": uuid.uuid4().hex,
        "held_back_rule": holds.RULE_TEXT,
        "limits": {
            "min_approvals": options.MAX_MIN_APPROVALS,
            "validation_percent": options.MAX_VALIDATION_PERCENT,
        },
    }
    return render(request, "exports/snapshot_list.html", context, status=status)


@login_required
@require_GET
def snapshot_detail(request, snapshot_id: int):
    """One snapshot: progress while building; then files, statistics and changes."""
    _data_scientist(request)
    snapshot = downloads.snapshot_or_404(snapshot_id)
    context = {"snapshot": snapshot, "pruned_rule": PRUNED_TEXT}
    if snapshot.is_ready:
        stats = snapshot.stats
        names = dict(Category.objects.values_list("slug", "name"))
        context["mix_chart"] = charts.bar_chart(
            [(names.get(slug, slug), n) for slug, n in snapshot.category_counts.items()]
        )
        context["length_charts"] = [
            (
                FIELD_LABELS[name],
                field,
                charts.bar_chart(list(zip(stats["bins"], field["histogram"], strict=True))),
            )
            for name, field in stats["fields"].items()
        ]
        context["archive_name"] = dolly.archive_name(snapshot.directory)
    return render(request, "exports/snapshot_detail.html", context)


@login_required
@require_GET
def snapshot_progress(request, snapshot_id: int):
    """The progress bar, polled by htmx while the snapshot builds; once it is done, the page
    reloads to show the outcome."""
    _data_scientist(request)
    snapshot = downloads.snapshot_or_404(snapshot_id)
    response = render(request, "exports/_progress.html", {"snapshot": snapshot})
    if not snapshot.is_active and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def snapshot_retry(request, snapshot_id: int):
    _data_scientist(request)
    snapshot = downloads.snapshot_or_404(snapshot_id)
    try:
        services.snapshot_retry(snapshot=snapshot, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("exports:snapshot_detail", snapshot.pk)


@login_required
@require_POST
def snapshot_pin(request, snapshot_id: int):
    """Pin a snapshot (the retention rule keeps it) or unpin it: `pinned` is "true" or "false"."""
    _data_scientist(request)
    snapshot = downloads.snapshot_or_404(snapshot_id)
    pinned = request.POST.get("pinned") != "false"
    try:
        services.snapshot_pin(snapshot=snapshot, user=request.user, pinned=pinned)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("exports:snapshot_detail", snapshot.pk)


@login_required
@require_GET
def snapshot_file(request, snapshot_id, name: str) -> HttpResponse:
    """Download one file of a ready snapshot, or all of it as one tar (streamed)."""
    _data_scientist(request)
    return downloads.file_response(downloads.snapshot_or_404(snapshot_id), name)
