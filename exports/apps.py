from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports: quality checks and snapshots"

    def ready(self):
        from annotation.events import entry_decided, entry_submitted
        from exports.services import on_entry_decided, on_entry_submitted

        # Every submitted entry is checked once its transaction commits (annotation/events.py),
        # and an accepted one re-indexed (a reviewer's fix may have changed its text).
        entry_submitted.connect(on_entry_submitted, dispatch_uid="exports.entry_check")
        entry_decided.connect(on_entry_decided, dispatch_uid="exports.fingerprint_update")
