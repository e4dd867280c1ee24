from django.core.management import BaseCommand, call_command


class Command(BaseCommand):
    """Get a database ready for a first look, in one process: what `make run` does before serving."""

    help = (
        "Migrate, load the demo people and entries (seed_demo) and build a first export snapshot "
        "of them. Idempotent; silent at --verbosity 0."
    )

    def handle(self, *args, verbosity=1, **options):
        call_command("migrate", interactive=False, verbosity=verbosity)
        call_command("seed_demo", verbosity=verbosity)
        call_command("export_snapshot", request_key="demo", verbosity=verbosity)
