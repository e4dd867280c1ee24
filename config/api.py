from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import parsers, renderers
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError


def exception_handler(exc, context):
    """Answer service errors as 4xx with a message instead of letting them become 500s."""
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return Response(exc.message_dict, status=400)
        return Response({"detail": " ".join(exc.messages)}, status=400)
    return drf_exception_handler(exc, context)


# Flock's own payloads nest three levels at most; far deeper JSON is an attack on the parser.
MAX_JSON_DEPTH = 32


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing with a 400 what would otherwise crash a view or the database.

    Python's decoder recurses once per level, so JSON nested 100,000 deep raised RecursionError
    (a 500) before any view ran, even on the unauthenticated token endpoint; and PostgreSQL
    cannot store a NUL character, so a `\\u0000` in any string became a DataError (a 500) in
    whichever query first used it.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON nested too deeply.") from None
        _check_json(data)
        return data


def _check_json(data) -> None:
    """Walk parsed JSON without recursion: refuse nesting past MAX_JSON_DEPTH and NUL in strings."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ParseError("JSON strings may not contain NUL characters (\\u0000).")
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ParseError("JSON nested too deeply.")
            if isinstance(value, dict):
                pending.extend((key, depth) for key in value)
                value = value.values()
            pending.extend((item, depth + 1) for item in value)


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's HTML view of the API, for the list APIs Flock writes without a `queryset`.

    DRF's renderer asks every paginated view for `get_queryset()` to build a filter form, and
    `GenericAPIView` asserts when a view has no `queryset`: `/api/v1/entries/` and
    `/api/v1/flags/` answered a signed-in browser with a 500. Flock's APIs filter with query
    parameters they validate themselves, never with filter backends, so there is no form to build.
    """

    def get_filter_form(self, data, view, request):
        if not getattr(view, "filter_backends", None):
            return None
        return super().get_filter_form(data, view, request)

    def get_context(self, data, accepted_media_type, renderer_context):
        context = super().get_context(data, accepted_media_type, renderer_context)
        # Pygments' style sheet for Markdown descriptions (not used here) would be an inline
        # <style> that the Content-Security-Policy refuses.
        context["code_style"] = None
        return context
