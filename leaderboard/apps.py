from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "leaderboard"
    verbose_name = "Leaderboard: contests and points"

    def ready(self):
        from annotation.events import entry_decided
        from leaderboard.services import on_entry_decided

        # Points are written in the transaction that decides an entry (annotation/events.py).
        entry_decided.connect(on_entry_decided, dispatch_uid="leaderboard.score_decision")
