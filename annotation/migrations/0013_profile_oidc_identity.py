"""Company sign-in remembers which provider identity ("<issuer>|<sub>") each profile belongs to."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0012_mask_personal_data_evidence"),
    ]

    operations = [
        migrations.AddField(
            model_name="profile",
            name="oidc_identity",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The company account (issuer|subject) that signs in to this account.",
                max_length=512,
            ),
        ),
        migrations.AddConstraint(
            model_name="profile",
            constraint=models.UniqueConstraint(
                condition=models.Q(("oidc_identity", ""), _negated=True),
                fields=("oidc_identity",),
                name="profile_oidc_identity_unique",
            ),
        ),
    ]
