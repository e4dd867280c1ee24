from django.contrib import admin, messages

from annotation.admin import ReadOnlyAdminMixin
from config.errors import DomainError
from leaderboard import services
from leaderboard.forms import ContestForm, contest_form
from leaderboard.models import Contest, ScoreEvent, Standing


class ContestAdminForm(ContestForm):
    class Meta(ContestForm.Meta):
        widgets = {}  # the admin's own split date/time widgets


@admin.register(Contest)
class ContestAdmin(admin.ModelAdmin):
    """The same form and rules as the contests page: windows never overlap; the grace period in
    hours; one multiplier per category; final results stay final (shown read-only)."""

    form = ContestAdminForm
    list_display = ["name", "starts_at", "ends_at", "grace_ends_at", "phase", "finalized_at"]
    filter_horizontal = ["focus_categories"]
    actions = ["finalize"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        return super().get_form(request, obj, change, **{**kwargs, "form": contest_form(self.form)})

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.is_finalized:
            stored = [f.name for f in self.model._meta.fields if f.name != "id"]
            return [(None, {"fields": [*stored, "focus_categories"]})]
        main, multipliers = self.get_form(request, obj, fields=None).layout()
        return [
            (None, {"fields": main}),
            ("Points multiplier per category", {"fields": multipliers}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return ["week", "finalized_at"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_finalized:
            return False  # its standings are frozen: shown, not changed
        return super().has_change_permission(request, obj)

    @admin.display(description="Phase")
    def phase(self, contest):
        return "final" if contest.is_finalized else contest.phase()

    @admin.action(description="Finalise (contests whose grace period is over)")
    def finalize(self, request, queryset):
        done = 0
        for contest in queryset:
            try:
                services.contest_finalize(contest=contest, actor=request.user)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, f"Finalised {done} contest(s).")


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
