from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotation.models import FlagKind
from exports.imports import dolly_import, reference_import
from quality.checks import BLOCKING, STRUCTURE_KINDS

# A normal import's corpus, when --source and --license are not given.
DEFAULT_SOURCE = "databricks-dolly-15k"
DEFAULT_LICENSE = "cc-by-sa-3.0"
# The line numbers of the questions too short to match safely, listed up to this many.
SHOWN_LINES = 100


class Command(BaseCommand):
    help = (
        "Import a JSONL file in the databricks-dolly-15k format (instruction, context, response, "
        "category) as accepted entries of a named source. Bad lines are reported and skipped; "
        "importing the same file again adds nothing. With --reference NAME, the file's "
        "instructions become questions of a reference corpus (an evaluation set): never "
        "exported or shown, and entries that match one are flagged and never released."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--source", default=None, help=f"The corpus's name (default {DEFAULT_SOURCE})."
        )
        parser.add_argument(
            "--license", default=None, help=f"The corpus's licence (default {DEFAULT_LICENSE})."
        )
        parser.add_argument("--url", default=None, help="Where the corpus comes from.")
        parser.add_argument(
            "--reference",
            metavar="NAME",
            default=None,
            help="Import the instructions as questions of this reference corpus (made on first "
            "import, extended after), never as entries; then check every entry against them.",
        )
        parser.add_argument(
            "--by", metavar="USERNAME", default=None, help="Who imports a reference corpus."
        )
        parser.add_argument("--batch-size", type=int, default=1_000)

    def handle(self, *args, file: Path, reference, by, batch_size, **options):
        if reference is not None:
            given = [f"--{name}" for name in ("source", "license", "url") if options[name]]
            if given:
                raise CommandError(
                    f"{', '.join(given)}: a reference corpus is never exported, so it has no "
                    f"source or licence; leave them out with --reference."
                )
        elif by is not None:
            raise CommandError(
                "--by names who imports a reference corpus: use it with --reference."
            )
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        if reference is not None:
            self._reference(file, reference, by, batch_size)
        else:
            self._entries(file, batch_size, **options)

    def _reference(self, file: Path, name: str, by: str | None, batch_size: int) -> None:
        created_by = None
        if by is not None:
            created_by = get_user_model().objects.filter(username=by).first()
            if created_by is None:
                raise CommandError(f"There is no user {by!r}.")

        def progress(line, report):
            self.stdout.write(f"  line {line:,}: {report.added:,} questions added so far")

        report = self._read(
            file,
            reference_import,
            corpus_name=name,
            created_by=created_by,
            batch_size=batch_size,
            progress=progress,
        )
        if report.too_short:
            shown = ", ".join(str(line) for line in report.too_short[:SHOWN_LINES])
            more = len(report.too_short) - SHOWN_LINES
            self.stderr.write(
                f"{len(report.too_short):,} questions of fewer than "
                f"{settings.FLOCK_REFERENCE_MIN_WORDS} words, too short to match safely, "
                f"not indexed: lines {shown}{f' and {more:,} more' if more > 0 else ''}."
            )
        self.stdout.write(report.check.summary)
        self.stdout.write(
            self.style.SUCCESS(
                f"Reference corpus “{report.corpus}”: {report.read:,} lines read, "
                f"{report.added:,} added, {report.repeated:,} repeated, "
                f"{len(report.too_short):,} too short to match safely, "
                f"{len(report.errors):,} skipped for errors."
            )
        )

    def _entries(self, file: Path, batch_size: int, *, source, license, url, **options):
        source = DEFAULT_SOURCE if source is None else source
        license = DEFAULT_LICENSE if license is None else license
        url = "" if url is None else url

        def progress(line, report):
            self.stdout.write(f"  line {line:,}: {report.imported:,} imported so far")

        report = self._read(
            file,
            dolly_import,
            source_name=source,
            license=license,
            url=url,
            batch_size=batch_size,
            progress=progress,
        )
        labels = dict(FlagKind.choices)
        # The defects Databricks repaired in dolly-15k after release, after every import.
        for kind in STRUCTURE_KINDS:
            count = report.defects.get(kind, 0)
            blocks = "kept out of snapshots" if BLOCKING[kind] else "exported, flagged"
            self.stdout.write(f"{count:,} flagged: {labels[kind].lower()} ({blocks})")
        if report.references:
            self.stdout.write(
                f"{report.references:,} flagged: "
                f"{labels[FlagKind.REFERENCE_MATCH].lower()} (kept out of snapshots)"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.imported:,} imported, {report.already_there:,} already there, "
                f"{len(report.errors):,} skipped for errors, from {source} ({license})."
            )
        )

    def _read(self, file: Path, importer, **arguments):
        """Run `importer` over the file's lines (decoded one by one: a bad line is skipped and
        reported here by its number); a refusal of the whole import is the command's error."""
        try:
            with file.open("rb") as lines:
                report = importer(lines=lines, **arguments)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        for line, problem in report.errors:
            self.stderr.write(f"line {line}: {problem} (skipped)")
        return report
