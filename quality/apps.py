from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = "Quality: duplicates, licensing and provenance checks"

    def ready(self):
        from annotation.events import entry_decided, entry_submitted
        from quality.receivers import on_entry_decided, on_entry_submitted

        # Every submitted entry is checked once its transaction commits (annotation/events.py),
        # and an accepted one re-indexed (a reviewer's fix may have changed its text).
        entry_submitted.connect(on_entry_submitted, dispatch_uid="quality.entry_check")
        entry_decided.connect(on_entry_decided, dispatch_uid="quality.fingerprint_update")

        # The writing page's autosave answers carry the similarity warning (one request a pause).
        from annotation.events import draft_autosaved
        from quality.views import similar_on_autosave

        draft_autosaved.connect(similar_on_autosave, dispatch_uid="quality.similar_on_autosave")

        # An erased person's entries leave the duplicate index, their clusters settled again.
        from annotation.events import person_erased
        from quality.receivers import on_person_erased

        person_erased.connect(on_person_erased, dispatch_uid="quality.erased_unindex")
