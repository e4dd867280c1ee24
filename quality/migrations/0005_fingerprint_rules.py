
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('quality', '0004_bucket_one_index_fewer'),
    ]

    operations = [
        migrations.AddField(
            model_name='fingerprint',
            name='rules',
            field=models.PositiveSmallIntegerField(default=1, help_text='dedupe.RULES_VERSION it was written with: older rows are rewritten.'),
        ),
    ]
