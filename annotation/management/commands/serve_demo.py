from django.conf import settings
from whitenoise.runserver_nostatic.management.commands.runserver import (
    Command as RunserverCommand,
)

from annotation.management.commands.seed_demo import DEMO_PASSWORD, demo_logins


class Command(RunserverCommand):
    """`runserver` for `make run`: what it prints last is where Flock is and who to sign in as.

    Django's own banner (date, version, settings module, a warning about production) pushed the
    address and the demo logins off a newcomer's screen; this one says what they need and no more.
    Everything else `runserver` does (reloading on code changes, request lines) is unchanged.
    """

    help = "Serve Flock for a first look (runserver), ending with the address and the demo logins."

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
