"""The person's notifications: the list (which marks what it shows read), opening one, and
marking all read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotation import selectors, services

PAGE_SIZE = 25


@login_required
@require_GET
def notification_list(request):
    page = Paginator(selectors.notifications_of(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    shown = list(page.object_list)
    unread = [n.pk for n in shown if n.read_at is None]
    if unread:
        services.notifications_mark_read(user=request.user, notification_ids=unread)
    return render(
        request,
        "annotation/notification_list.html",
        {"page": page, "notifications": shown, "unread_ids": set(unread)},
    )


@login_required
@require_GET
def notification_open(request, notification_id: int):
    """Mark one of the person's notifications read and go to what it is about."""
    notification = get_object_or_404(
        selectors.notifications_of(user=request.user), pk=notification_id
    )
    services.notifications_mark_read(user=request.user, notification_ids=[notification.pk])
    return redirect(notification.link or "annotation:notification_list")


@login_required
@require_POST
def notifications_read_all(request):
    count = services.notifications_mark_read(user=request.user)
    messages.success(request, f"Marked {count} notification{'' if count == 1 else 's'} read.")
    return redirect("annotation:notification_list")


# Signing in with this POST-only address as `next` lands on the list, never a GET of it (a 405).
notifications_read_all.after_sign_in = "annotation:notification_list"
