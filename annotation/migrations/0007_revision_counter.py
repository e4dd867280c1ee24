from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_existing_revisions(apps, schema_editor):
    """Start each entry's counter at its highest revision number, so numbering carries on."""
    Entry = apps.get_model("annotation", "Entry")
    Revision = apps.get_model("annotation", "Revision")
    highest = (
        Revision.objects.filter(entry=OuterRef("pk"))
        .values("entry")
        .annotate(highest=Max("number"))
        .values("highest")
    )
    Entry.objects.update(revision_count=Coalesce(Subquery(highest), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0006_import_sources"),
    ]

    operations = [
        migrations.AddField(
            model_name="entry",
            name="revision_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(count_existing_revisions, migrations.RunPython.noop),
    ]
