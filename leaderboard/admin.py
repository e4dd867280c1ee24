from django.contrib import admin

from annotation.admin import ReadOnlyAdminMixin
from leaderboard.models import Contest, ScoreEvent, Standing


@admin.register(Contest)
class ContestAdmin(admin.ModelAdmin):
    list_display = ["name", "starts_at", "ends_at", "grace_ends_at", "finalized_at"]
    readonly_fields = ["week", "finalized_at"]
    filter_horizontal = ["focus_categories"]


@admin.register(ScoreEvent)
class ScoreEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ledger is append-only: read here, written only by the scoring service."""

    list_display = ["created_at", "user", "kind", "points", "object_key", "contest"]
    list_filter = ["kind", "contest"]
    search_fields = ["user__username", "object_key"]


@admin.register(Standing)
class StandingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["contest", "rank", "user", "points", "accepted", "reviews", "is_winner"]
    list_filter = ["contest", "is_winner"]
