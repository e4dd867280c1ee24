"""On PostgreSQL, parameters are bound server-side and a query run again on a kept connection is
prepared (config/settings.py): PostgreSQL plans it once, not on every request."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tests.test_settings import _run

pytestmark = pytest.mark.django_db


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_query_run_again_is_prepared_once(postgresql, alice):
    User = get_user_model()
    look_up = 'FROM "auth_user" WHERE "auth_user"."username" = $1'
    assert not any(look_up in statement for statement in _prepared())
    for name in ["alice", "nobody", "alice", "someone", "alice", "alice", "bob"]:
        list(User.objects.filter(username=name))  # one query, other parameters each time
    assert len([s for s in _prepared() if look_up in s]) == 1


def test_a_list_longer_than_the_protocol_allows_is_one_array_parameter(postgresql, alice, bob):
    """PostgreSQL takes at most 65,535 bound parameters a query; a rescan at a million entries
    asks for more (config/lookups.py sends a long list as one array)."""
    from annotation.models import Entry
    from tests.factories import submitted

    mine, theirs = submitted(alice), submitted(bob)
    wanted = [mine.pk, *range(10**9, 10**9 + 70_000), None]
    assert list(Entry.objects.filter(pk__in=wanted)) == [mine]
    assert list(Entry.objects.exclude(pk__in=wanted)) == [theirs]
    assert Entry.objects.filter(author__in=[alice] * 70_000).get() == mine  # a relation
    assert Entry.objects.filter(author_id__in=[bob.pk] * 70_000).get() == theirs
    assert list(Entry.objects.filter(pk__in=[mine.pk, theirs.pk]).order_by("pk")) == [mine, theirs]


OPTIONS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps(settings.DATABASES["default"].get("OPTIONS", {})))
"""


def test_prepared_statements_can_be_turned_off_for_a_pooler():
    url = "postgres://flock@db.internal:5432/flock"
    on = _run(OPTIONS, DATABASE_URL=url)
    off = _run(OPTIONS, DATABASE_URL=url, DATABASE_PREPARED_STATEMENTS="false")
    assert on.returncode == off.returncode == 0, on.stderr + off.stderr
    assert '"server_side_binding": true' in on.stdout and '"prepare_threshold": 5' in on.stdout
    assert "server_side_binding" not in off.stdout and "prepare_threshold" not in off.stdout
