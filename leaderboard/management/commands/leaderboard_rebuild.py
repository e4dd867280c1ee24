from django.core.management.base import BaseCommand

from leaderboard import services


class Command(BaseCommand):
    help = "Rebuild the cached (Redis) leaderboards from the points ledger; --check only compares."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Report drift without rebuilding anything."
        )

    def handle(self, *args, check=False, **options):
        if check:
            drifts = services.boards_check(repair=False)
            for drift in drifts:
                self.stdout.write(
                    f"{drift.board}: {drift.missing} missing, {drift.extra} extra, "
                    f"{drift.wrong} wrong, {drift.counts} with wrong counts"
                )
            self.stdout.write("no drift" if not drifts else f"{len(drifts)} board(s) drifted")
            return
        sizes = services.boards_rebuild()
        if not sizes:
            self.stdout.write("No REDIS_URL: boards are read from the database; nothing to do.")
        for board, size in sizes.items():
            self.stdout.write(f"{board}: {size} members")
