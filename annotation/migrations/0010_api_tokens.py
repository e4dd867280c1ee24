"""Named, hashed API tokens replace rest_framework.authtoken's clear keys.

A database that had rest_framework.authtoken installed keeps every key working: each becomes an
ApiToken holding the key's sha256 (and its first characters as the prefix), after which the table
of clear keys is dropped and authtoken's migration records are removed, so that installing that
app again would create its table afresh. A fresh database has no such table and skips all of it.
Migrating back removes the tokens; clear keys cannot be restored from their digests.
"""

import datetime
import hashlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.migrations.recorder import MigrationRecorder

OLD_TABLE = "authtoken_token"
CARRIED_OVER_NAME = "Token from before named tokens"


def carry_over_clear_keys(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("annotation", "ApiToken")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('key')}, {quote('user_id')}, {quote('created')} FROM {quote(OLD_TABLE)}"
        )
        rows = cursor.fetchall()
    tokens = []
    for key, user_id, created in rows:
        if isinstance(created, str):  # a backend that hands back text
            created = datetime.datetime.fromisoformat(created)
        if created.tzinfo is None:  # SQLite stores UTC without a zone
            created = created.replace(tzinfo=datetime.UTC)
        tokens.append(
            ApiToken(
                user_id=user_id,
                name=CARRIED_OVER_NAME,
                prefix=key[:8],
                digest=hashlib.sha256(key.encode()).hexdigest(),
                created_at=created,
            )
        )
    ApiToken.objects.bulk_create(tokens)
    schema_editor.execute(f"DROP TABLE {quote(OLD_TABLE)}")
    MigrationRecorder(connection).migration_qs.filter(app="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0009_entry_changed_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("prefix", models.CharField(max_length=12)),
                ("digest", models.CharField(max_length=64, unique=True)),
                ("created_at", models.DateTimeField()),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "expires_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="Refused from this moment on; empty: never expires.",
                        null=True,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "API token",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.RunPython(carry_over_clear_keys, migrations.RunPython.noop, elidable=True),
    ]
