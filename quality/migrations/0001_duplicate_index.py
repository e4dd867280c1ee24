"""The duplicate index moves here from `exports`, keeping its rows: this migration only tells
Django's state that the models are this app's now (the tables stay where exports made them), and
0002 renames the tables to this app's names."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("annotation", "0007_revision_counter"),
        ("exports", "0003_snapshot"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Fingerprint",
                    fields=[
                        (
                            "entry",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                primary_key=True,
                                related_name="fingerprint",
                                serialize=False,
                                to="annotation.entry",
                            ),
                        ),
                        ("exact_hash", models.CharField(db_index=True, max_length=64)),
                        (
                            "signature",
                            models.BinaryField(
                                default=b"",
                                help_text="MinHash signature: 128 uint32, little-endian.",
                            ),
                        ),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={"db_table": "exports_fingerprint"},
                ),
                migrations.CreateModel(
                    name="Bucket",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("key", models.BigIntegerField(db_index=True)),
                        (
                            "fingerprint",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="buckets",
                                to="quality.fingerprint",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "exports_bucket",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("fingerprint", "key"), name="one_bucket_per_key"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
