import argparse

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from config.errors import DomainError
from exports import services
from exports.models import SnapshotOrigin, SnapshotStatus


class Command(BaseCommand):
    help = (
        "Build an export snapshot here and now (the same build as the exports page's job): rescan "
        "duplicates and licences, write data.jsonl, README.md and manifest.json, and print the "
        "snapshot's directory and version."
    )

    def add_arguments(self, parser):
        # An option not given is not passed on: SnapshotOptions gives its default.
        default = services.SnapshotOptions()
        parser.add_argument(
            "--category",
            action="append",
            default=argparse.SUPPRESS,
            dest="categories",
            metavar="SLUG",
            help="Only this category (repeat for several; default: all).",
        )
        parser.add_argument(
            "--min-approvals",
            type=int,
            default=argparse.SUPPRESS,
            help="At least this many approvals in the round that accepted an entry "
            f"(default: {default.min_approvals}; imported entries are kept or left out as a whole).",
        )
        parser.add_argument(
            "--exclude-imported",
            action="store_false",
            default=argparse.SUPPRESS,
            dest="include_imported",
            help="Leave out entries imported from public corpora (included by default).",
        )
        parser.add_argument(
            "--validation-percent",
            type=float,
            default=argparse.SUPPRESS,
            help="Also write train.jsonl and validation.jsonl, this share in validation "
            f"(default: {default.validation_percent:g}).",
        )
        parser.add_argument(
            "--skip-rescan",
            action="store_true",
            help="Do not rescan duplicates and licences first (they ran nightly).",
        )
        parser.add_argument(
            "--request-key",
            default="",
            help="Running the command again with the same key builds that snapshot again if it "
            "failed, and otherwise only reports it (the command's keys are its own).",
        )

    def handle(self, *args, **options):
        try:
            snapshot, created = services.snapshot_request(
                user=None,
                options={
                    name: options[name]
                    for name in services.SnapshotOptions.names()
                    if name in options
                },
                request_key=options["request_key"],
                origin=SnapshotOrigin.COMMAND,
                start=False,
            )
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(problems) from None
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if not created and options["verbosity"] >= 1:
            self.stdout.write(f"Snapshot v{snapshot.version} was asked for with this key.")
        if snapshot.status in (SnapshotStatus.PENDING, SnapshotStatus.FAILED):
            shown = [-1]

            def progress(percent: int, stage: str) -> None:
                if percent != shown[0] and options["verbosity"] >= 1:
                    shown[0] = percent
                    self.stdout.write(f"  {percent:3d}%  {stage}")

            try:
                snapshot = services.snapshot_build(
                    snapshot_id=snapshot.pk, rescan=not options["skip_rescan"], on_progress=progress
                )
            except services.SnapshotBusy as exc:
                raise CommandError(f"{exc} Run the command again later.") from None
        if snapshot.status != SnapshotStatus.READY:
            raise CommandError(
                f"Snapshot v{snapshot.version} is {snapshot.status}: {snapshot.error}"
            )
        storage = services.snapshot_storage()
        try:
            where = storage.path(snapshot.directory)
        except NotImplementedError:  # a remote storage: its own name for the folder
            where = snapshot.directory
        if options["verbosity"] < 1:
            return
        self.stdout.write(where)
        self.stdout.write(
            self.style.SUCCESS(
                f"Snapshot v{snapshot.version}: {snapshot.record_count:,} "
                f"record{'' if snapshot.record_count == 1 else 's'}, "
                f"{', '.join(f['name'] for f in snapshot.files)}."
            )
        )
