from django.core.management.base import BaseCommand

from quality import services


class Command(BaseCommand):
    help = (
        "Run the quality app's corpus job now: the duplicate rescan, the licensing rescan, then "
        "the reference (contamination) rescan. "
        "Each looks at what changed since its last run unless --full (or the rules changed)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--full",
            action="store_true",
            help="Look at every entry under review or accepted, not only what changed.",
        )

    def handle(self, *args, full=False, **options):
        report = services.quality_rescan(full=full)
        dup, lic = report.duplicates, report.licensing
        self.stdout.write(
            f"Duplicates ({'full' if dup.full else 'changed since the last run'}): "
            f"{dup.entries:,} entries looked at, {dup.pairs:,} pairs, {dup.clusters:,} clusters, "
            f"{dup.flagged:,} flags raised or reopened."
        )
        self.stdout.write(
            f"Licensing ({'full' if lic.full else 'changed since the last run'}): "
            f"{lic.entries:,} entries looked at, {lic.flagged:,} flags raised or reopened."
        )
        self.stdout.write(report.references.summary)
