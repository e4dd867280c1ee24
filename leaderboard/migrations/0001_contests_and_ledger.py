
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('annotation', '0004_draft_key'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Contest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=120)),
                ('starts_at', models.DateTimeField()),
                ('ends_at', models.DateTimeField()),
                ('grace_ends_at', models.DateTimeField(help_text='Reviews until then still count; then frozen.')),
                ('prize', models.TextField(blank=True)),
                ('accepted_points', models.PositiveIntegerField(blank=True, null=True)),
                ('review_points', models.PositiveIntegerField(blank=True, null=True)),
                ('short_category_bonus', models.PositiveIntegerField(blank=True, null=True)),
                ('multipliers', models.JSONField(blank=True, default=dict, help_text='Per-category multipliers, e.g. {"closed_qa": 2}.')),
                ('focus_bonus', models.PositiveIntegerField(default=0, help_text='Extra points for an accepted entry in a focus category.')),
                ('winner_count', models.PositiveSmallIntegerField(default=3)),
                ('week', models.CharField(blank=True, editable=False, max_length=8, null=True, unique=True)),
                ('finalized_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('focus_categories', models.ManyToManyField(blank=True, related_name='focus_contests', to='annotation.category')),
            ],
            options={
                'ordering': ['-starts_at'],
            },
        ),
        migrations.CreateModel(
            name='ScoreEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('entry_accepted', 'Entry accepted'), ('review_agreed', 'Review agreed with the outcome')], max_length=20)),
                ('object_key', models.CharField(help_text='What earned it, e.g. entry:12.', max_length=40)),
                ('points', models.IntegerField()),
                ('reason', models.CharField(help_text='How the points were computed.', max_length=300)),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('contest', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='score_events', to='leaderboard.contest')),
                ('entry', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='annotation.entry')),
                ('review', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='annotation.review')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='score_events', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='Standing',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rank', models.PositiveIntegerField()),
                ('points', models.IntegerField()),
                ('accepted', models.PositiveIntegerField()),
                ('reviews', models.PositiveIntegerField()),
                ('is_winner', models.BooleanField(default=False)),
                ('contest', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='standings', to='leaderboard.contest')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['contest', 'rank', 'user_id'],
            },
        ),
        migrations.AddConstraint(
            model_name='contest',
            constraint=models.CheckConstraint(condition=models.Q(('ends_at__gt', models.F('starts_at'))), name='contest_window'),
        ),
        migrations.AddConstraint(
            model_name='contest',
            constraint=models.CheckConstraint(condition=models.Q(('grace_ends_at__gte', models.F('ends_at'))), name='contest_grace_after_end'),
        ),
        migrations.AddIndex(
            model_name='scoreevent',
            index=models.Index(fields=['contest', 'user'], name='leaderboard_contest_21a0f6_idx'),
        ),
        migrations.AddIndex(
            model_name='scoreevent',
            index=models.Index(fields=['user', 'created_at'], name='leaderboard_user_id_742736_idx'),
        ),
        migrations.AddConstraint(
            model_name='scoreevent',
            constraint=models.UniqueConstraint(fields=('kind', 'object_key', 'user'), name='score_event_key'),
        ),
        migrations.AddConstraint(
            model_name='standing',
            constraint=models.UniqueConstraint(fields=('contest', 'user'), name='one_standing_per_user'),
        ),
    ]
