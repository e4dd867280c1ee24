from django.db import migrations, models

# On PostgreSQL the existing rows get their keys here, from their buckets, in the layout
# dedupe.keys_packed writes (int8send is big-endian); elsewhere they stay null and are read from
# the buckets when needed (quality.services.duplicates._held_keys).
FILL = """
UPDATE quality_fingerprint AS f SET keys = b.keys
FROM (
    SELECT fingerprint_id, string_agg(int8send(key), ''::bytea ORDER BY key) AS keys
    FROM quality_bucket GROUP BY fingerprint_id
) AS b
WHERE f.entry_id = b.fingerprint_id
"""


def fill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FILL)


class Migration(migrations.Migration):
    dependencies = [
        ("quality", "0007_reference_corpora"),
    ]

    operations = [
        migrations.AddField(
            model_name="fingerprint",
            name="keys",
            field=models.BinaryField(
                editable=False,
                help_text="The keys of its buckets: sorted, each 8 bytes big-endian "
                "(dedupe.keys_packed); null: unknown (written before this column), read from "
                "the buckets.",
                null=True,
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
