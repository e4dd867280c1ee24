from django.db import migrations, models


class Migration(migrations.Migration):
    """The key index carries each bucket's fingerprint (quality.models.Bucket.Meta.indexes): the
    covering index is built before the plain one goes."""

    dependencies = [
        ("quality", "0008_fingerprint_keys"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="bucket",
            index=models.Index(fields=["key"], include=("fingerprint",), name="bucket_key_holder"),
        ),
        migrations.AlterField(
            model_name="bucket",
            name="key",
            field=models.BigIntegerField(),
        ),
    ]
