import os
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import BaseCommand, CommandError, call_command
from django.core.management.commands.runserver import naiveip_re
from django.db import connections

from annotation.management.commands.seed_demo import DEMO_PASSWORD, demo_logins


class Command(BaseCommand):
    """`make run`: get the demo ready, serve it with `runserver`, and say last where it is.

    The set-up (demo_prepare) runs once, in this process. The server is Django's own
    `manage.py runserver`, untouched, in a child process: its reloader, its system checks on every
    reload, and its recovery from a code error saved mid-edit (which Django grants only to a
    command named runserver) all work as usual. Once the server answers, this process prints the
    address and the demo logins, so that they are the last thing a newcomer reads instead of
    Django's date, version and settings lines.
    """

    help = "Prepare the demo database, then serve it with runserver, ending with the address and the logins."
    requires_system_checks = []  # runserver checks, on every start and reload

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-prepare",
            action="store_false",
            dest="prepare",
            help="Serve as it is: no migrate, demo data or snapshot first.",
        )

    def handle(self, *args, addrport, prepare, **options):
        match = naiveip_re.match(addrport)
        if match is None or not match["port"]:
            raise CommandError(f'"{addrport}" is not an address:port, for example 127.0.0.1:8000.')
        host, port = match["addr"] or "127.0.0.1", int(match["port"])
        if prepare:
            self.stdout.write("Preparing the database and the demo data…")
            call_command("demo_prepare", verbosity=0)
            connections.close_all()  # the server's processes open their own
        env = {**os.environ, "DJANGO_RUNSERVER_HIDE_WARNING": "true"}
        server = subprocess.Popen([sys.executable, sys.argv[0], "runserver", addrport], env=env)
        try:
            if self._wait_until_served(server, host.strip("[]"), port):
                self.stdout.write(self._banner(host, port))
            return_code = server.wait()
        except KeyboardInterrupt:  # Ctrl-C reaches the server too; let it finish
            return_code = server.wait()
        if return_code not in (0, -2, 130):
            raise CommandError(f"runserver stopped (exit code {return_code}).")

    @staticmethod
    def _wait_until_served(server: subprocess.Popen, host: str, port: int) -> bool:
        """True once the server accepts connections; False if it stopped first (port taken…)."""
        target = "127.0.0.1" if host in ("0", "0.0.0.0") else ("::1" if host == "::" else host)
        while server.poll() is None:
            try:
                with socket.create_connection((target, port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.1)
        return False

    def _banner(self, host: str, port: int) -> str:
        shown = "0.0.0.0" if host == "0" else host
        database = connections["default"].display_name
        tasks = "in-process" if settings.CELERY_TASK_ALWAYS_EAGER else "on Celery workers"
        return "\n".join(
            [
                "",
                self.style.SUCCESS(f"Flock is running at http://{shown}:{port}/"),
                f"  (the development server on {database}, tasks {tasks}; Ctrl-C stops it)",
                "",
                f"Demo logins, all with the password {DEMO_PASSWORD}:",
                *demo_logins(),
                "",
            ]
        )
