
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Category',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(unique=True)),
                ('name', models.CharField(max_length=100)),
                ('position', models.PositiveSmallIntegerField(default=0)),
                ('summary', models.CharField(max_length=200)),
                ('guidelines', models.TextField()),
                ('example_instruction', models.TextField()),
                ('example_context', models.TextField(blank=True)),
                ('example_response', models.TextField()),
                ('context_policy', models.CharField(choices=[('required', 'Reference passage required'), ('optional', 'Reference passage optional'), ('none', 'No reference passage')], max_length=10)),
                ('target_count', models.PositiveIntegerField(default=1000, help_text='How many accepted entries the drive wants.')),
                ('points_multiplier', models.DecimalField(decimal_places=2, default=1, max_digits=4)),
                ('is_active', models.BooleanField(default=True)),
            ],
            options={
                'verbose_name_plural': 'categories',
                'ordering': ['position', 'slug'],
            },
        ),
        migrations.CreateModel(
            name='ContributorAgreement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.CharField(max_length=32, unique=True)),
                ('text', models.TextField()),
                ('published_at', models.DateTimeField()),
            ],
            options={
                'ordering': ['-published_at'],
                'get_latest_by': 'published_at',
            },
        ),
        migrations.CreateModel(
            name='Team',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='Entry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('draft', 'Draft'), ('submitted', 'Submitted'), ('accepted', 'Accepted'), ('rejected', 'Rejected'), ('withdrawn', 'Withdrawn')], db_index=True, default='draft', max_length=10)),
                ('instruction', models.TextField(blank=True)),
                ('context', models.TextField(blank=True)),
                ('response', models.TextField(blank=True)),
                ('source_url', models.URLField(blank=True, max_length=2000)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('submitted_at', models.DateTimeField(blank=True, null=True)),
                ('author', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to=settings.AUTH_USER_MODEL)),
                ('category', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='annotation.category')),
            ],
            options={
                'verbose_name_plural': 'entries',
                'ordering': ['-updated_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='Revision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('instruction', models.TextField(blank=True)),
                ('context', models.TextField(blank=True)),
                ('response', models.TextField(blank=True)),
                ('source_url', models.URLField(blank=True, max_length=2000)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('author', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='revisions', to=settings.AUTH_USER_MODEL)),
                ('entry', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='revisions', to='annotation.entry')),
            ],
            options={
                'ordering': ['entry', 'number'],
            },
        ),
        migrations.CreateModel(
            name='Profile',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('display_name', models.CharField(blank=True, max_length=100)),
                ('show_on_leaderboard', models.BooleanField(default=True, help_text="Show the display name on leaderboards; otherwise 'anonymous'.")),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='profile', to=settings.AUTH_USER_MODEL)),
                ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='members', to='annotation.team')),
            ],
        ),
        migrations.CreateModel(
            name='AgreementAcceptance',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('accepted_at', models.DateTimeField(auto_now_add=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='agreement_acceptances', to=settings.AUTH_USER_MODEL)),
                ('agreement', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='acceptances', to='annotation.contributoragreement')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('user', 'agreement'), name='one_acceptance_per_version')],
            },
        ),
        migrations.AddIndex(
            model_name='entry',
            index=models.Index(fields=['author', 'status'], name='annotation__author__8ce15c_idx'),
        ),
        migrations.AddIndex(
            model_name='entry',
            index=models.Index(fields=['category', 'status'], name='annotation__categor_86af6e_idx'),
        ),
        migrations.AddConstraint(
            model_name='entry',
            constraint=models.CheckConstraint(condition=models.Q(('status', 'draft'), ('submitted_at__isnull', False), _connector='OR'), name='entry_submitted_at_once_out_of_draft'),
        ),
        migrations.AddConstraint(
            model_name='revision',
            constraint=models.UniqueConstraint(fields=('entry', 'number'), name='revision_number_per_entry'),
        ),
    ]
