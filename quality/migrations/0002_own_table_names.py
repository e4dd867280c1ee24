from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("quality", "0001_duplicate_index"),
        ("exports", "0004_duplicate_index_moves_to_quality"),
    ]

    operations = [
        migrations.AlterModelTable(name="fingerprint", table=None),
        migrations.AlterModelTable(name="bucket", table=None),
    ]
