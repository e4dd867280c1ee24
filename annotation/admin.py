from django.contrib import admin

from annotation.models import (
    AgreementAcceptance,
    Category,
    ContributorAgreement,
    Entry,
    Profile,
    Revision,
    Team,
)


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


class RevisionInline(admin.TabularInline):
    """Revisions are history: shown, never edited or removed here."""

    model = Revision
    extra = 0
    can_delete = False
    fields = ["number", "author", "created_at", "instruction", "response"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ["id", "category", "author", "status", "submitted_at", "updated_at"]
    list_filter = ["status", "category"]
    search_fields = ["instruction", "response", "author__username"]
    raw_id_fields = ["author"]
    readonly_fields = ["created_at", "updated_at", "submitted_at"]
    inlines = [RevisionInline]


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ["entry", "number", "author", "created_at"]
    raw_id_fields = ["entry", "author"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
class AgreementAcceptanceAdmin(admin.ModelAdmin):
    list_display = ["user", "agreement", "accepted_at"]
    list_filter = ["agreement"]
    readonly_fields = ["user", "agreement", "accepted_at"]

    def has_add_permission(self, request):
        return False
