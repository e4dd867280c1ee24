"""Flock's own middleware: response headers for browsers and caches, and NUL characters refused.

The Content-Security-Policy itself is Django's (django.middleware.csp, configured by SECURE_CSP
in settings.py); this module adds what Django has no setting for.
"""

from importlib import import_module

from django.conf import settings
from django.utils.cache import add_never_cache_headers
from django.utils.csp import CSP

from config.views import bad_request_page, is_api

# Browser features no Flock page uses, switched off for Flock's pages and anything they embed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)

NUL = "\x00"


class ResponseHeadersMiddleware:
    """Permissions-Policy on every answer; `Cache-Control: no-store` on every API answer and on
    every answer to a request that carries a session or a token.

    A signed-in page or an API answer holds someone's data (a token, drafts, flags): no browser
    cache or shared proxy may keep a copy for the next person at the same machine. "Carries a
    session or a token" is decided from the request itself (the session cookie, an
    Authorization header), not by loading the user, so it costs no query and still works while
    the database is down; a stale session cookie only makes a page uncacheable.

    Sits before Django's ContentSecurityPolicyMiddleware, so that it sees that header too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if is_api(request) or _carries_credentials(request, response):
            add_never_cache_headers(response)
        if settings.DEBUG and response.status_code in (400, 404, 500):
            # Django's debug error pages style and script themselves inline, without a nonce;
            # with DEBUG on (never in production) they are served without the policy.
            response.headers.pop(CSP.HEADER_ENFORCE)
        return response


def _carries_credentials(request, response) -> bool:
    session_cookie = settings.SESSION_COOKIE_NAME
    return (
        "HTTP_AUTHORIZATION" in request.META
        or session_cookie in request.COOKIES
        or session_cookie in response.cookies  # signing in
    )


class RefuseNulMiddleware:
    """Answer 400 to a NUL character anywhere in the path, the query string or a posted form.

    No text Flock keeps may hold one, and PostgreSQL refuses it in a query: views that read
    request.POST or request.GET straight (a category slug, a source URL, a snapshot's request
    key, a flag's note) raised a DataError, a 500. Forms refuse NUL themselves; this is the one
    place that refuses it for everything else. JSON bodies are checked by the API's parser
    (config.api.JSONParser). A session cookie holding one is no session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if NUL in request.COOKIES.get(settings.SESSION_COOKIE_NAME, ""):
            # Django unquotes "\000" in a cookie into a NUL, which PostgreSQL refuses in the
            # session look-up: such a browser has no session (and SessionMiddleware then deletes
            # the cookie, as it does an empty session's).
            request.session = import_module(settings.SESSION_ENGINE).SessionStore(None)
        if _holds_nul(request):
            return bad_request_page(
                request,
                message="The request contains a NUL character (%00), which Flock does not accept.",
            )
        return self.get_response(request)


def _holds_nul(request) -> bool:
    if NUL in request.path_info:
        return True
    queries = [request.GET]
    if request.method == "POST":
        queries.append(request.POST)
    return any(
        NUL in key or any(NUL in value for value in values)
        for query in queries
        for key, values in query.lists()
    )
