from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('quality', '0002_own_table_names'),
    ]

    operations = [
        migrations.CreateModel(
            name='ScanMark',
            fields=[
                ('name', models.CharField(max_length=30, primary_key=True, serialize=False)),
                ('rules', models.CharField(max_length=64)),
                ('started_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField()),
                ('entries', models.PositiveIntegerField(default=0, help_text='How many entries it looked at.')),
                ('full', models.BooleanField(default=False)),
            ],
        ),
    ]
