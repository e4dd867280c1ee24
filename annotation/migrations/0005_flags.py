
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0004_draft_key'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Flag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('exact_duplicate', 'Exact duplicate'), ('near_duplicate', 'Near duplicate'), ('source_not_allowed', 'Source not allowed'), ('no_agreement', 'No contributor agreement'), ('ai_text', 'Reads like AI-generated text'), ('personal_data', 'Personal data')], max_length=20)),
                ('evidence', models.TextField()),
                ('evidence_key', models.CharField(max_length=200)),
                ('blocking', models.BooleanField(help_text='An open blocking flag keeps the entry out of exports.')),
                ('status', models.CharField(choices=[('open', 'Open'), ('confirmed', 'Confirmed'), ('dismissed', 'Dismissed')], db_index=True, default='open', max_length=10)),
                ('similarity', models.FloatField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('note', models.TextField(blank=True)),
                ('duplicate_of', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='annotation.entry')),
                ('entry', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='flags', to='annotation.entry')),
                ('resolved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'constraints': [models.UniqueConstraint(fields=('entry', 'kind', 'evidence_key'), name='one_flag_per_finding')],
            },
        ),
    ]
