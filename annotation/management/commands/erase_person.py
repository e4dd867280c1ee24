from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError

from annotation import services
from annotation.roles import is_admin
from config.errors import DomainError


class Command(BaseCommand):
    """The admin's erasure of a person's data from a shell (services.person_erase)."""

    help = (
        "Erase a person's data (final): the text they wrote, their account's details; keeps "
        "verdicts, decisions and the ledger. Acts as the admin named by --admin, a superuser."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="The person whose data is erased.")
        parser.add_argument(
            "--admin", required=True, help="The superuser this is done as (recorded)."
        )

    def handle(self, *args, username: str, admin: str, **options):
        if username == admin:
            raise CommandError(
                "An admin does not erase their own data here: erase your own data from your "
                "profile, or ask another admin."
            )
        users = get_user_model().objects
        person = users.filter(username=username).first()
        if person is None:
            raise CommandError(f"No account named {username!r}.")
        actor = users.filter(username=admin).first()
        if actor is None:
            raise CommandError(f"No account named {admin!r}.")
        if not (actor.is_active and is_admin(actor)):
            raise CommandError(f"{admin} is not an active superuser: only admins erase data.")
        try:
            erasure = services.person_erase(person=person, actor=actor)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Erased the data of {username} (now {erasure.person.get_username()}): the text of "
            f"{erasure.entries} entries, {erasure.revisions} revisions and {erasure.reviews} "
            "review comments."
        )
