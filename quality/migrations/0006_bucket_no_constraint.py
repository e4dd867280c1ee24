
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('quality', '0005_fingerprint_rules'),
    ]

    operations = [
        migrations.AlterField(
            model_name='bucket',
            name='fingerprint',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='buckets', to='quality.fingerprint'),
        ),
    ]
