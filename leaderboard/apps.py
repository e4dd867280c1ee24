from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "leaderboard"
    verbose_name = "Leaderboard: contests and points"

    def ready(self):
        from django.db.models.signals import post_save

        from annotation.events import (
            entry_decided,
            entry_overturned,
            person_erased,
            review_recorded,
        )
        from leaderboard.models import Contest
        from leaderboard.services import (
            on_contest_saved,
            on_entry_decided,
            on_entry_overturned,
            on_person_erased,
            on_review_recorded,
        )

        # Points are written in the transaction that decides an entry (annotation/events.py),
        # and taken back in the one that overturns its decision.
        entry_decided.connect(on_entry_decided, dispatch_uid="leaderboard.score_decision")
        entry_overturned.connect(on_entry_overturned, dispatch_uid="leaderboard.score_reverse")

        # A contest's window, however it is saved, says which reviews its board counts.
        post_save.connect(on_contest_saved, sender=Contest, dispatch_uid="leaderboard.contest")

        # A review counts on its reviewer's cached boards (leaderboard.boards.add_review).
        review_recorded.connect(on_review_recorded, dispatch_uid="leaderboard.count_review")

        # An erasure keeps the ledger; the cached boards are checked against it once it commits.
        person_erased.connect(on_person_erased, dispatch_uid="leaderboard.boards_check_erased")
