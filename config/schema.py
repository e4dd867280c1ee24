"""The API's OpenAPI schema (drf-spectacular, served at /api/schema/): every operation documents
the error answers it can give, with the bodies config/api.py produces, so that the schema and the
answers agree (tests/test_api_schema.py runs schemathesis against it, per role).

An operation documents, besides what its view declares:
- 401 when it authenticates callers (all but none do): no session or token, or a bad token;
- 403 when it changes something (a session request needs its CSRF token, and services refuse
  with ActionForbidden) or its permissions ask for more than being signed in;
- 404 when its path names an object (entry, flag, contest, snapshot, token) or its list is
  paginated (a page past the end);
- 400 when it reads a body or query parameters it validates.
A 409 cannot be told from the outside: a view whose service raises StateConflict declares it
(`409: OpenApiResponse(description=...)`), and gets the error body here. A declared 4xx without a
body gets the body of its kind.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every refusal but a validation failure (config/api.py)."""

    detail = serializers.CharField(help_text="What went wrong, in words a person can act on.")
    code = serializers.CharField(
        required=False,
        help_text="For a service's refusal: conflict (409), forbidden (403) or invalid (400).",
    )


# A validation failure: the messages by field (`non_field_errors` for the body as a whole), or
# one `detail`; nested input gives nested objects.
VALIDATION_ERRORS = {
    "type": "object",
    "description": "What is wrong, by field: a list of messages per field name "
    "(non_field_errors for the whole body), or a detail message.",
    "additionalProperties": {},
    "example": {"rating": ["Ensure this value is less than or equal to 5."]},
}

DESCRIPTIONS = {
    "400": "The request is invalid; the body says what is wrong, by field.",
    "401": "Not signed in: no session and no token, or a token that is unknown, expired or "
    "revoked.",
    "403": "Signed in but not allowed: a role this needs, the contributor agreement, or a "
    "session request without its CSRF token.",
    "404": "No such object, or none you may see: both answer alike, so ids reveal nothing.",
    "409": "The object is not in a state that allows this.",
}

_OPEN = (permissions.AllowAny, permissions.IsAuthenticated)


class FlockAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with the error answers every operation can give."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes(responses):
            response = responses.get(code)
            if response is None:
                responses[code] = self._error_response(code, DESCRIPTIONS[code])
            elif "content" not in response:
                responses[code] = self._error_response(code, response.get("description"))
        return dict(sorted(responses.items()))

    def _error_codes(self, declared) -> list[str]:
        codes = [code for code in declared if code.startswith("4")]
        if self.view.get_authenticators():
            codes.append("401")
        permission_classes = {type(permission) for permission in self.view.get_permissions()}
        if self.method not in permissions.SAFE_METHODS or permission_classes - set(_OPEN):
            codes.append("403")
        if "{" in self.path or self._paginated():
            codes.append("404")
        if self._reads_input():
            codes.append("400")
        return codes

    def _paginated(self) -> bool:
        return self.method == "GET" and any(
            parameter.get("name") == "page" for parameter in self._get_parameters()
        )

    def _reads_input(self) -> bool:
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            return True
        return any(
            parameter.get("in") == "query" and parameter.get("name") != "page"
            for parameter in self._get_parameters()
        )

    def _error_response(self, code: str, description: str | None) -> dict:
        body = VALIDATION_ERRORS if code == "400" else ErrorSerializer
        return self._get_response_for_code(
            OpenApiResponse(body, description=description or DESCRIPTIONS[code]), code
        )
