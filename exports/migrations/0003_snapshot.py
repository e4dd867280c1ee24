
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('exports', '0002_signature'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Snapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveIntegerField(unique=True)),
                ('status', models.CharField(choices=[('pending', 'Waiting for a worker'), ('running', 'Building'), ('ready', 'Ready'), ('failed', 'Failed')], default='pending', max_length=10)),
                ('progress', models.PositiveSmallIntegerField(default=0, help_text='0–100 while building.')),
                ('stage', models.CharField(blank=True, max_length=100)),
                ('options', models.JSONField(default=dict, help_text='The filters and split it was built with.')),
                ('request_key', models.CharField(max_length=120, unique=True)),
                ('origin', models.CharField(choices=[('browser', 'Exports page'), ('api', 'API'), ('command', 'manage.py export_snapshot'), ('schedule', 'Nightly schedule')], max_length=10)),
                ('job_id', models.CharField(blank=True, max_length=100)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('error', models.TextField(blank=True)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('record_count', models.PositiveIntegerField(default=0)),
                ('category_counts', models.JSONField(default=dict)),
                ('files', models.JSONField(default=list, help_text='[{name, size, sha256}] in the directory.')),
                ('archive', models.JSONField(default=dict, help_text='{name, size, sha256} of the tar of all.')),
                ('stats', models.JSONField(default=dict, help_text='Length distributions for the pictures.')),
                ('changes', models.JSONField(default=dict, help_text='Counts added/removed/changed vs parent.')),
                ('digest', models.BinaryField(default=b'')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='snapshots', to=settings.AUTH_USER_MODEL)),
                ('parent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='children', to='exports.snapshot')),
            ],
            options={
                'ordering': ['-version'],
                'get_latest_by': 'version',
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'running')), fields=('status',), name='one_snapshot_running'), models.CheckConstraint(condition=models.Q(('progress__lte', 100)), name='snapshot_progress_0_100')],
            },
        ),
    ]
