import os

from django.conf import settings
from django.core.management import call_command
from django.utils import autoreload
from whitenoise.runserver_nostatic.management.commands.runserver import (
    Command as RunserverCommand,
)

from annotation.management.commands.seed_demo import DEMO_PASSWORD, demo_logins


class Command(RunserverCommand):
    """`make run`: get the demo ready, then `runserver`, ending with the address and the logins.

    Before serving, in the one process (the autoreloader's children skip it): migrate, the demo
    people and entries (seed_demo) and a first export snapshot, all idempotent and silent, so a
    newcomer waits for one Python start-up instead of four. Django's own banner (date, version,
    settings module, a warning about production) pushed the address and the demo logins off the
    screen; this one says what a newcomer needs. Reloading on code changes and the request lines
    are runserver's, unchanged.
    """

    help = (
        "Migrate, load the demo data and a first snapshot, then serve Flock for a first look "
        "(runserver), ending with the address and the demo logins."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--no-prepare",
            action="store_false",
            dest="prepare",
            help="Serve as it is: no migrate, demo data or snapshot first.",
        )

    def handle(self, *args, **options):
        if options["prepare"] and os.environ.get(autoreload.DJANGO_AUTORELOAD_ENV) != "true":
            self.stdout.write("Preparing the database and the demo data…")
            call_command("migrate", interactive=False, verbosity=0)
            call_command("seed_demo", verbosity=0)
            call_command("export_snapshot", request_key="demo", verbosity=0)
        # migrate has just run the system checks; the server need not run them again.
        options["skip_checks"] = options["skip_checks"] or options["prepare"]
        super().handle(*args, **options)

    def on_bind(self, server_port):
        host = (
            f"[{self.addr}]" if self._raw_ipv6 else ("0.0.0.0" if self.addr == "0" else self.addr)
        )
        database = settings.DATABASES["default"]
        where = "SQLite" if database["ENGINE"].endswith("sqlite3") else database["ENGINE"]
        tasks = "in-process" if settings.CELERY_TASK_ALWAYS_EAGER else "on Celery workers"
        lines = [
            "",
            self.style.SUCCESS(f"Flock is running at {self.protocol}://{host}:{server_port}/"),
            f"  (development server on {where}, tasks {tasks}; Ctrl-C stops it)",
            "",
            f"Demo logins, all with the password {DEMO_PASSWORD}:",
            *demo_logins(),
            "",
        ]
        self.stdout.write("\n".join(lines))
