"""The duplicate index is the quality app's now (quality/migrations/0001): forget the models here
without touching their tables or rows."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0003_snapshot"),
        ("quality", "0001_duplicate_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Bucket"),
                migrations.DeleteModel(name="Fingerprint"),
            ],
            database_operations=[],
        ),
    ]
