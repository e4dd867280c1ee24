"""Flags get one meaning of blocking, a status for a check's closing, and hand-raised flags.

Near-duplicate flags always kept their entry out of snapshots while open or confirmed; they are
now stored as blocking too. A flag a check closed was stored as dismissed, like a moderator's
dismissal (which nobody made): those without a moderator become closed, so that the same
finding found again reopens them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def forwards(apps, schema_editor):
    Flag = apps.get_model("annotation", "Flag")
    Flag.objects.filter(kind="near_duplicate").update(blocking=True)
    Flag.objects.filter(status="dismissed", resolved_by__isnull=True).update(status="closed")


def backwards(apps, schema_editor):
    Flag = apps.get_model("annotation", "Flag")
    Flag.objects.filter(status="closed").update(status="dismissed")
    Flag.objects.filter(kind="near_duplicate").update(blocking=False)


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0007_revision_counter'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='flag',
            name='raised_by',
            field=models.ForeignKey(blank=True, help_text="The moderator who raised it by hand; empty for a check's finding.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='flag',
            name='blocking',
            field=models.BooleanField(help_text='While open or confirmed, a blocking flag keeps the entry out of snapshots.'),
        ),
        migrations.AlterField(
            model_name='flag',
            name='kind',
            field=models.CharField(choices=[('exact_duplicate', 'Exact duplicate'), ('near_duplicate', 'Near duplicate'), ('source_not_allowed', 'Source not allowed'), ('no_agreement', 'No contributor agreement'), ('ai_text', 'Reads like AI-generated text'), ('personal_data', 'Personal data'), ('repeats_instruction', 'Response repeats the instruction'), ('response_is_passage', 'Response is the passage'), ('citation_markers', 'Wikipedia citation markers'), ('moderator', 'Raised by a moderator')], max_length=20),
        ),
        migrations.AlterField(
            model_name='flag',
            name='status',
            field=models.CharField(choices=[('open', 'Open'), ('confirmed', 'Confirmed'), ('dismissed', 'Dismissed'), ('closed', 'Closed by a later check')], db_index=True, default='open', max_length=10),
        ),
        migrations.RunPython(forwards, backwards),
    ]
