import datetime
import hashlib
from decimal import Decimal

import pytest
from django.apps.registry import Apps
from django.contrib.auth import get_user_model
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from rest_framework.test import APIClient

from annotation.models import ApiToken, Category, ContributorAgreement
from tests.factories import UserFactory

DOLLY = {
    "creative_writing": "none",
    "closed_qa": "required",
    "open_qa": "none",
    "general_qa": "none",
    "brainstorming": "none",
    "classification": "optional",
    "information_extraction": "required",
    "summarization": "required",
}


@pytest.mark.django_db
def test_the_eight_dolly_categories_are_seeded_with_their_context_policy():
    seeded = {c.slug: c for c in Category.objects.all()}
    assert {slug: c.context_policy for slug, c in seeded.items()} == DOLLY
    for c in seeded.values():
        assert c.guidelines and c.example_instruction and c.example_response
        assert c.target_count > 0 and c.points_multiplier > Decimal(0)
        assert bool(c.example_context) == (c.context_policy == "required")
    assert sum(c.target_count for c in seeded.values()) == 15_000


@pytest.mark.django_db
def test_an_agreement_is_in_force_and_names_the_license():
    agreement = ContributorAgreement.objects.get(version="1")
    assert "CC-BY-SA 3.0" in agreement.text
    assert "generative AI" in agreement.text


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _create_authtoken_table():
    """The table rest_framework.authtoken made (its migrations 0001–0004), as a database that ran
    with it installed still has, with the records of those migrations."""
    isolated = Apps()

    class Token(models.Model):
        key = models.CharField(max_length=40, primary_key=True)
        user = models.OneToOneField(get_user_model(), related_name="+", on_delete=models.CASCADE)
        created = models.DateTimeField()

        class Meta:
            app_label = "authtoken"
            db_table = "authtoken_token"
            apps = isolated

        def __str__(self):
            return self.key

    with connection.schema_editor() as editor:
        editor.create_model(Token)
    recorder = MigrationRecorder(connection)
    for name in ["0001_initial", "0002_auto_20160226_1747", "0003_tokenproxy"]:
        recorder.record_applied("authtoken", name)
    return Token


def test_clear_authtoken_keys_are_carried_over_as_hashed_tokens(seeded):
    alice = UserFactory(username="alice")
    created = datetime.datetime(2026, 5, 1, 8, 30, tzinfo=datetime.UTC)
    key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    _migrate([("annotation", "0009_entry_changed_index")])
    Token = _create_authtoken_table()
    Token.objects.create(key=key, user_id=alice.pk, created=created)

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    token = ApiToken.objects.get(user=alice)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert (token.prefix, token.created_at, token.expires_at) == (key[:8], created, None)
    assert "authtoken_token" not in connection.introspection.table_names()
    assert not MigrationRecorder(connection).migration_qs.filter(app="authtoken").exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me/").json()["username"] == "alice"


@pytest.mark.django_db
def test_a_fresh_database_has_no_clear_token_table():
    assert "authtoken_token" not in connection.introspection.table_names()
    assert "annotation_apitoken" in connection.introspection.table_names()
