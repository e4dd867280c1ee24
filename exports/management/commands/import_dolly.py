from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotation.models import FlagKind
from exports.imports import dolly_import
from quality.checks import BLOCKING, STRUCTURE_KINDS


class Command(BaseCommand):
    help = (
        "Import a JSONL file in the databricks-dolly-15k format (instruction, context, response, "
        "category) as accepted entries of a named source. Bad lines are reported and skipped; "
        "importing the same file again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", default="databricks-dolly-15k", help="The corpus's name.")
        parser.add_argument("--license", default="cc-by-sa-3.0", help="The corpus's licence.")
        parser.add_argument("--url", default="", help="Where the corpus comes from.")
        parser.add_argument("--batch-size", type=int, default=1_000)

    def handle(self, *args, file: Path, source, license, url, batch_size, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")

        def progress(line, report):
            self.stdout.write(f"  line {line:,}: {report.imported:,} imported so far")

        try:
            with file.open("rb") as lines:  # decoded line by line: one bad line is skipped
                report = dolly_import(
                    lines=lines,
                    source_name=source,
                    license=license,
                    url=url,
                    batch_size=batch_size,
                    progress=progress,
                )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        for line, problem in report.errors:
            self.stderr.write(f"line {line}: {problem} (skipped)")
        labels = dict(FlagKind.choices)
        # The defects Databricks repaired in dolly-15k after release, after every import.
        for kind in STRUCTURE_KINDS:
            count = report.defects.get(kind, 0)
            blocks = "kept out of snapshots" if BLOCKING[kind] else "exported, flagged"
            self.stdout.write(f"{count:,} flagged: {labels[kind].lower()} ({blocks})")
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.imported:,} imported, {report.already_there:,} already there, "
                f"{len(report.errors):,} skipped for errors, from {source} ({license})."
            )
        )
