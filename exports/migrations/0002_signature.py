
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('exports', '0001_duplicate_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='fingerprint',
            name='signature',
            field=models.BinaryField(default=b'', help_text='MinHash signature: 128 uint32, little-endian.'),
        ),
    ]
