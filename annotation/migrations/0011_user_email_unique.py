"""One account per e-mail address, whatever its case (audit finding 4).

Ten simultaneous sign-ups with one company address made ten accounts, sock puppets that could
approve their own entries. The check in the sign-up service cannot see a sign-up committing at
the same moment; this index can. It is a partial index on LOWER(email) of the user table, which
SQLite and PostgreSQL both support; accounts without an address are not covered.

A database that already holds two accounts with one address stops here with the addresses
named: which account to keep is an administrator's decision, not a migration's.
"""

from django.conf import settings
from django.db import migrations
from django.db.models import Count
from django.db.models.functions import Lower

INDEX = "user_email_lower_unique"


def create_index(apps, schema_editor):
    User = apps.get_model(settings.AUTH_USER_MODEL)
    shared = (
        User.objects.exclude(email="")
        .annotate(address=Lower("email"))
        .values("address")
        .annotate(accounts=Count("pk"))
        .filter(accounts__gt=1)
        .values_list("address", flat=True)
    )
    if shared:
        listed = ", ".join(sorted(shared)[:20])
        raise RuntimeError(
            "Some e-mail addresses belong to more than one account: "
            f"{listed}. Change or remove the extra accounts' addresses in the admin (or with "
            "`manage.py shell`), then run the migration again."
        )
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE UNIQUE INDEX {quote(INDEX)} ON {quote(User._meta.db_table)} "
        f"(LOWER({quote('email')})) WHERE {quote('email')} <> ''"
    )


def drop_index(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(INDEX)}")


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0010_api_tokens"),
        # After auth's last migration: on SQLite an auth migration running later would rebuild
        # the user table and lose an index it does not know about.
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
