"""Failed sign-ins, slowed by django-axes: who is locked out, the client address, the answer.

Axes counts every failed `authenticate()` (the sign-in form, the admin's login, the token endpoint)
by username and by client address; the settings (AXES_* in config/settings.py) name the pieces
here. Unknown usernames are counted and answered exactly like known ones. Whoever calls
`authenticate()` passes Django's request (a DRF view passes `request._request`): AxesMiddleware
answers the lockout from the attributes axes sets on it. `authenticate()` without a request
raises axes' AxesBackendRequestParameterRequired (so tests post the sign-in form, or call
`force_login`, rather than `Client.login()`).
"""

import ipaddress
import math

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from config.views import is_api


class FailureHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for a client address.

    Many honest people may share one address (an office's NAT), so an address gets
    FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT failures where a username gets AXES_FAILURE_LIMIT. Axes
    compares one count with one limit, so the address's count is scaled onto the username's limit:
    it reaches that limit exactly when the address reaches its own.

    An attempt without a username (a company sign-in's callback) counts for its address only:
    axes would lump all of them together under one empty username and lock everyone's.
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        by_username, by_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if get_client_username(request, credentials) is None:
            by_username = 0
        per_username = settings.AXES_FAILURE_LIMIT
        per_address = settings.FLOCK_SIGN_IN_ADDRESS_FAILURE_LIMIT
        return max(by_username, by_address * per_username // per_address)


def client_ip(request: HttpRequest) -> str | None:
    """The address failures are counted against (AXES_CLIENT_IP_CALLABLE).

    REMOTE_ADDR, unless settings.TRUSTED_PROXY_COUNT proxies each append the address they saw to
    X-Forwarded-For: then the entry that many places from the right. Entries further left were
    written by the client and are never trusted; a missing or malformed entry falls back to
    REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(hops) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-proxies]))
    except ValueError:
        return remote


def cool_off_minutes(request: HttpRequest | None = None) -> int:
    return math.ceil(get_cool_off(request).total_seconds() / 60)


def lockout_message(request: HttpRequest | None = None) -> str:
    minutes = cool_off_minutes(request)
    unit = "minute" if minutes == 1 else "minutes"
    return (
        "Too many failed sign-ins for this username or from this address. "
        f"Wait {minutes} {unit}, then try again: each attempt before then starts the wait over."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """The answer to a locked-out attempt (AXES_LOCKOUT_CALLABLE): JSON under /api/, a page
    elsewhere, 429 with Retry-After either way."""
    seconds = int(get_cool_off(request).total_seconds())
    message = lockout_message(request)
    if is_api(request):
        response = JsonResponse(
            {"detail": message, "code": "locked_out", "retry_after": seconds}, status=429
        )
    else:
        response = render(
            request,
            "accounts/locked_out.html",
            {
                "message": message,
                "minutes": cool_off_minutes(request),
                "password_sign_in": settings.FLOCK_PASSWORD_SIGN_IN,
            },
            status=429,
        )
    response["Retry-After"] = str(seconds)
    return response


def forget_failures(sender, request=None, user=None, **kwargs) -> None:
    """Receiver of user_logged_in: a successful sign-in forgets the failures of that username from
    that address only (so that signing in to one's own account never wipes the address's
    failures at other usernames, nor the username's failures from elsewhere)."""
    address = client_ip(request) if request is not None else None
    if address is None or user is None:
        return
    AxesProxyHandler.reset_attempts(ip_address=address, username=user.get_username())


def forget_username_failures(*, username: str) -> None:
    """After a password reset by e-mail, the owner's username is no longer locked out."""
    AxesProxyHandler.reset_attempts(username=username)
