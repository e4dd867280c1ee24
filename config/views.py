"""The project's own views: the health check, and the error answers (JSON under /api/).

Django's error handlers answer HTML pages; a script calling the API must get JSON it can read
instead, whatever went wrong: a path that matches no route, a crash, a database that is down.
"""

import logging
import sys
from functools import lru_cache

import redis
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# How long a client should wait before trying again while the database is unavailable.
RETRY_AFTER_SECONDS = 30


def is_api(request) -> bool:
    """Whether the request is for the REST API, which answers JSON, never a page."""
    return request.path_info.startswith(API_PREFIX)


def api_error(*, status: int, detail: str, code: str) -> JsonResponse:
    """An error as the API answers every error: `{"detail": …, "code": …}`."""
    return JsonResponse({"detail": detail, "code": code}, status=status)


def bad_request_page(request, *, message: str):
    """A 400 page with what was wrong, or the same as JSON under /api/."""
    if is_api(request):
        return api_error(status=400, detail=message, code="bad_request")
    return render(request, "400.html", {"message": message}, status=400)


def bad_request(request, exception):
    """handler400: a request Django refused before any view (too large, suspicious)."""
    if is_api(request):
        return api_error(status=400, detail="Bad request.", code="bad_request")
    return defaults.bad_request(request, exception)


def page_not_found(request, exception):
    """handler404: under /api/ a path that matches no route (`/api/v1/entries/abc/`) is JSON."""
    if is_api(request):
        return api_error(status=404, detail="Not found.", code="not_found")
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: under /api/ a crash is JSON; a database that cannot be reached is a 503.

    Django calls this while it handles the exception, so sys.exc_info() still holds it.
    """
    if not is_api(request):
        return defaults.server_error(request)
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        response = api_error(
            status=503,
            detail="The database is unavailable. Try again in a moment.",
            code="database_unavailable",
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return api_error(status=500, detail="Server error.", code="server_error")


@require_safe
@never_cache
def health(request):
    """For load balancers: 200 when the database (and Redis, when configured) answers, else 503
    naming the part that is down. No sign-in, no session, one cheap query."""
    checks = {"database": _database_answers()}
    if settings.REDIS_URL:
        checks["redis"] = _redis_answers(settings.REDIS_URL)
    healthy = all(checks.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "checks": {name: "ok" if up else "down" for name, up in checks.items()},
        },
        status=200 if healthy else 503,
    )


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except (DatabaseError, InterfaceError) as exc:
        logger.warning("Health check: the database does not answer: %s", exc)
        return False
    return True


def _redis_answers(url: str) -> bool:
    try:
        _redis_client(url).ping()
    except redis.RedisError as exc:
        logger.warning("Health check: Redis does not answer: %s", exc)
        return False
    return True


@lru_cache(maxsize=4)
def _redis_client(url: str) -> redis.Redis:
    # One client (and its connection pool) per URL; short timeouts so a probe never hangs.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
