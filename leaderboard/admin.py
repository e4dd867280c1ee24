from django.contrib import admin

from annotation.admin import ReadOnlyAdminMixin
from leaderboard import services
from leaderboard.forms import ContestForm
from leaderboard.models import Contest, ScoreEvent, Standing


class ContestAdminForm(ContestForm):
    class Meta(ContestForm.Meta):
        widgets = {}  # the admin's own split date/time widgets


@admin.register(Contest)
class ContestAdmin(admin.ModelAdmin):
    """The same rules as the contests page: windows never overlap; final results stay final."""

    form = ContestAdminForm
    list_display = ["name", "starts_at", "ends_at", "grace_ends_at", "finalized_at"]
    filter_horizontal = ["focus_categories"]
    actions = ["finalize"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_finalized:
            return [f.name for f in self.model._meta.fields] + ["focus_categories"]
        return ["week", "finalized_at"]

    @admin.action(description="Finalise: freeze standings and record winners")
    def finalize(self, request, queryset):
        for contest in queryset:
            services.contest_finalize(contest=contest, actor=request.user)
        self.message_user(request, f"Finalised {queryset.count()} contest(s).")


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
