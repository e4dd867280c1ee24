"""Audit finding 13 (issue 12): the OpenAPI schema at /api/schema/ agrees with the answers.

Schemathesis generates requests for every operation from the schema the app serves, per role
(anonymous, contributor, moderator, data scientist, each signed in with a session and its CSRF
token as a browser or a script with a session would be), sends them to the WSGI app in-process,
and checks every answer: no server error, a documented status code, the documented content type,
and a body that matches the documented schema. Bounded and deterministic: a few examples per
operation from a fixed derandomised seed, and a time budget for the whole run; it runs in
`make test` on SQLite or, in CI, on PostgreSQL (whichever DATABASE_URL names).
"""

import secrets
import string
import time
from dataclasses import dataclass

import hypothesis
import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotation import services
from annotation.models import EntryStatus, Flag, FlagKind
from exports import services as exports
from exports.models import SnapshotOrigin
from leaderboard import services as leaderboard
from tests.factories import EntryFactory, handed_to, submitted

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 6
# For the whole run of one role; the four roles together stay within a couple of minutes.
SECONDS_PER_ROLE = 30
ROLES = ["anonymous", "contributor", "moderator", "data_scientist"]


@dataclass(frozen=True)
class Failure:
    role: str
    operation: str
    problem: str
    request: str


def _session(user) -> tuple[dict[str, str], dict[str, str]]:
    """A signed-in session and its CSRF token, as a browser sends them: (cookies, headers)."""
    if user is None:
        return {}, {}
    client = Client()
    client.force_login(user)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    cookies = {django_settings.SESSION_COOKIE_NAME: session, django_settings.CSRF_COOKIE_NAME: csrf}
    return cookies, {"X-CSRFToken": csrf}


def _world(alice, bob, carol, dana) -> dict[str, int]:
    """Objects of every kind for the path ids to name: entries in each state (bob's own draft,
    alice's entry handed to bob, a decided one with a flag), a contest, snapshots (a scheduled
    one has no creator)."""
    services.agreement_accept(user=bob)
    own = EntryFactory(author=bob, instruction="Name a colour.", response="Blue.")
    held = handed_to(submitted(alice, instruction="Name a fruit.", response="A pear."), bob)
    decided = EntryFactory(author=alice, status=EntryStatus.ACCEPTED, submitted_at=held.created_at)
    flag = Flag.objects.create(
        entry=decided,
        kind=FlagKind.PERSONAL_DATA,
        evidence='response: e-mail address "•••@corp.example"',
        evidence_key="response:email:•••@corp.example",
        blocking=True,
    )
    contest = leaderboard.contest_ensure_week()
    scheduled, _ = exports.snapshot_request(user=None, options={}, origin=SnapshotOrigin.SCHEDULE)
    exports.snapshot_request(user=dana, options={}, origin=SnapshotOrigin.API)
    return {
        "entry_id": [own.pk, held.pk, decided.pk],
        "flag_id": [flag.pk],
        "contest_id": [contest.pk] if contest else [1],
        "snapshot_id": [scheduled.pk, "latest"],
    }


def _strategies(operation, known: dict[str, list]) -> list:
    """Generated requests; and, for an operation whose path names objects, requests naming
    objects that exist (generated ids are almost never one)."""
    strategies = [operation.as_strategy()]
    names = [parameter.name for parameter in operation.path_parameters]
    if names and all(name in known for name in names):
        ids = st.fixed_dictionaries({name: st.sampled_from(known[name]) for name in names})
        strategies.append(ids.flatmap(lambda chosen: operation.as_strategy(path_parameters=chosen)))
    return strategies


@pytest.fixture
def wsgi_app():
    """Django's WSGI application, keeping the test's database connection open between requests
    (as Django's test client does: a finished request would close it)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _run(app, role: str, user, known, deadline: float) -> tuple[list[Failure], int]:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app)
    cookies, headers = _session(user)
    failures: list[Failure] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for strategy in _strategies(operation, known):

            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def probe(case):
                nonlocal sent
                if time.monotonic() > deadline:
                    return
                response = case.call(headers=headers, cookies=cookies)
                sent += 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except (AssertionError, BaseExceptionGroup) as exc:  # a Failure, a FailureGroup
                    problem = str(exc).strip()[:1500]
                    curl = case.as_curl_command()
                    failures.append(Failure(role, case.operation.label, problem, curl))

            probe()
    return failures, sent


@pytest.mark.parametrize("role", ROLES)
def test_the_api_answers_as_its_schema_says(role, settings, wsgi_app, alice, bob, carol, dana):
    settings.ALLOWED_HOSTS = ["localhost"]
    known = _world(alice, bob, carol, dana)
    user = {"anonymous": None, "contributor": bob, "moderator": carol, "data_scientist": dana}[role]
    failures, sent = _run(wsgi_app, role, user, known, time.monotonic() + SECONDS_PER_ROLE)
    assert sent > 100, f"only {sent} requests were sent within the time budget"
    unique = {(f.operation, f.problem.splitlines()[0]): f for f in failures}
    report = "\n\n".join(
        f"[{f.role}] {f.operation}\n{f.problem}\n{f.request}" for f in unique.values()
    )
    assert not failures, f"{len(unique)} kinds of failure:\n\n{report}"


def test_the_schema_documents_the_error_answers(client):
    """Each operation documents 401; those naming an object, 404; those changing something,
    403; those reading input, 400; and the error bodies config/api.py gives."""
    schema = client.get("/api/schema/?format=json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            label = f"{method.upper()} {path}"
            assert "401" in codes, label
            if "{" in path:
                assert "404" in codes, label
            if method in ("post", "patch", "delete"):
                assert "403" in codes, label
            for code in codes & {"401", "403", "404", "409"}:
                body = operation["responses"][code]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, (label, code)
    entry = schema["components"]["schemas"]["Entry"]["properties"]
    assert "format" not in entry["source_url"]  # a draft holds whatever its writer typed
    snapshot = schema["components"]["schemas"]["Snapshot"]["properties"]
    assert snapshot["created_by"].get("nullable") is True  # a scheduled snapshot has none
