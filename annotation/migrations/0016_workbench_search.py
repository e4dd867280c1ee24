"""Indexes for the moderation workbench (selectors.moderation_entries).

On PostgreSQL, a pg_trgm GIN index over the three text fields serves the workbench's text
search (`~*`, selectors.text_contains) without reading every entry. It leaves drafts out: the
workbench never lists them, and the writing page's autosaves then never touch the index. SQLite
has no such index; its search reads the table, which is fine at the sizes SQLite is used for.

Both databases get an index on the submission time, the list's order.
"""

from django.db import migrations, models

TRIGRAM_INDEX = "entry_text_trgm"


def add_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON annotation_entry USING gin "
        "(instruction gin_trgm_ops, context gin_trgm_ops, response gin_trgm_ops) "
        "WHERE NOT (status = 'draft')"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("annotation", "0015_overturns_and_gold")]

    operations = [
        migrations.AddIndex(
            model_name="entry",
            index=models.Index(fields=["submitted_at", "id"], name="entry_submitted"),
        ),
        migrations.RunPython(add_trigram_index, drop_trigram_index, elidable=False),
    ]
