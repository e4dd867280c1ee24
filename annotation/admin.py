from django.contrib import admin

from annotation.models import (
    AgreementAcceptance,
    Category,
    ContributorAgreement,
    Decision,
    Entry,
    Flag,
    Profile,
    Review,
    Revision,
    Source,
    Team,
)


class ReadOnlyAdminMixin:
    """History (revisions, reviews, decisions) is shown in the admin, never edited there."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "context_policy",
        "target_count",
        "points_multiplier",
        "is_active",
    ]
    list_editable = ["target_count", "points_multiplier", "is_active"]
    ordering = ["position"]
    prepopulated_fields = {"slug": ["name"]}


class RevisionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Revision
    extra = 0
    fields = ["number", "author", "created_at", "instruction", "response"]


class ReviewInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Review
    extra = 0
    fields = ["round", "reviewer", "verdict", "rating", "reasons", "comment", "fix", "created_at"]


class DecisionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Decision
    extra = 0
    fk_name = "entry"
    fields = ["round", "outcome", "decided_by", "reason", "approvals", "rejections", "created_at"]


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Entries are read here; their text and state change only through the services, which
    record revisions and decisions. Removing one (spam, say) stays possible."""

    list_display = ["id", "category", "author", "status", "submitted_at", "updated_at"]
    list_filter = ["status", "category"]
    search_fields = ["instruction", "response", "author__username"]
    inlines = [RevisionInline, ReviewInline, DecisionInline]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["entry", "number", "author", "created_at"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["entry", "round", "reviewer", "verdict", "rating", "created_at"]
    list_filter = ["verdict", "rating"]
    search_fields = ["reviewer__username", "comment"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["entry", "round", "outcome", "decided_by", "created_at"]
    list_filter = ["outcome"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name", "team", "show_on_leaderboard"]
    list_filter = ["team", "show_on_leaderboard"]
    search_fields = ["user__username", "display_name"]


@admin.register(ContributorAgreement)
class ContributorAgreementAdmin(admin.ModelAdmin):
    list_display = ["version", "published_at"]


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "agreement", "accepted_at"]
    list_filter = ["agreement"]


@admin.register(Flag)
class FlagAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Flags are raised by the checks and resolved on the moderation page (which records who)."""

    list_display = ["entry", "kind", "blocking", "status", "created_at", "resolved_by"]
    list_filter = ["kind", "status", "blocking"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "license", "url", "created_at"]
    readonly_fields = ["license"]
