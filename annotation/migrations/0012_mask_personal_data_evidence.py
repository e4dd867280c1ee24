"""Personal data in flags stored masked, as the check writes it since issue 12 (audit finding 10).

Flags raised before kept a card number or an address in clear in `evidence` and `evidence_key`.
Pages, the API and the admin mask them when shown already; this rewrites the stored rows, so
that the next check finds them again under the masked key the check now writes (and a
moderator's dismissal stands instead of coming back as a new flag). Not reversible: the clear
values are gone by design.
"""

from django.db import migrations


def mask(apps, schema_editor):
    from annotation.services.flags import flags_mask_personal_data

    flags_mask_personal_data(flag_model=apps.get_model("annotation", "Flag"))


class Migration(migrations.Migration):
    dependencies = [("annotation", "0011_user_email_unique")]

    operations = [migrations.RunPython(mask, migrations.RunPython.noop)]
