from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.template.response import TemplateResponse

from annotation import selectors, services, sources
from annotation.models import (
    MAX_URL_CHARS,
    AgreementAcceptance,
    ApiToken,
    Category,
    ContributorAgreement,
    Decision,
    Entry,
    Flag,
    GoldEntry,
    GoldReview,
    Overturn,
    Profile,
    Review,
    Revision,
    Source,
    Team,
)
from annotation.roles import is_admin
from config.errors import DomainError


class VisibleEntriesAdminMixin:
    """Staff read here what they may read on the pages (selectors.entries_visible_to): others'
    drafts stay out of the admin too. `entry_lookup` leads from the model to its entry."""

    entry_lookup = "pk__in"

    def get_queryset(self, request):
        visible = selectors.entries_visible_to(viewer=request.user)
        return super().get_queryset(request).filter(**{self.entry_lookup: visible})


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
class EntryAdmin(VisibleEntriesAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Entries are read here; their text and state change only through the services, which
    record revisions and decisions. Removing one (spam, say) stays possible."""

    list_display = ["id", "category", "author", "status", "submitted_at", "updated_at"]
    list_filter = ["status", "category"]
    search_fields = ["instruction", "response", "author__username"]
    inlines = [RevisionInline, ReviewInline, DecisionInline]
    actions = ["release_withdraw"]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_release_withdraw_permission(self, request):
        return is_admin(request.user)

    @admin.action(
        description="Withdraw from future releases (final)", permissions=["release_withdraw"]
    )
    def release_withdraw(self, request, queryset):
        """services.entry_release_withdraw for each selected entry, as this admin; the ones
        it refuses (not accepted, withdrawn already) are named with the reason."""
        done, refused = [], []
        for entry in queryset.order_by("pk"):
            try:
                services.entry_release_withdraw(entry=entry, actor=request.user)
            except DomainError as exc:
                refused.append(exc.message)
            else:
                done.append(f"#{entry.pk}")
        if done:
            self.message_user(
                request,
                f"Withdrawn from future releases: {', '.join(done)}. The next snapshot leaves "
                "them out; this cannot be undone.",
                messages.SUCCESS,
            )
        for message in refused:
            self.message_user(request, message, messages.WARNING)


@admin.register(Revision)
class RevisionAdmin(VisibleEntriesAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    entry_lookup = "entry__in"
    list_display = ["entry", "number", "author", "created_at"]


@admin.register(Review)
class ReviewAdmin(VisibleEntriesAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    entry_lookup = "entry__in"
    list_display = ["entry", "round", "reviewer", "verdict", "rating", "created_at"]
    list_filter = ["verdict", "rating"]
    search_fields = ["reviewer__username", "comment"]


@admin.register(Decision)
class DecisionAdmin(VisibleEntriesAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    entry_lookup = "entry__in"
    list_display = ["entry", "round", "outcome", "decided_by", "created_at"]
    list_filter = ["outcome"]


@admin.register(Overturn)
class OverturnAdmin(VisibleEntriesAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Moderators' overturns, read-only: an overturn is made on the entry's review page or the
    API (services.entry_overturn), which also takes back the points in the ledger."""

    entry_lookup = "decision__entry__in"
    list_display = ["decision", "verdict", "moderator", "created_at"]
    list_filter = ["verdict"]
    search_fields = ["reason", "moderator__username"]


@admin.register(GoldEntry)
class GoldEntryAdmin(VisibleEntriesAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Gold marks, read-only: a mark is made on the entry's review page or the API
    (services.gold_mark), which check that the entry is decided and not the moderator's own."""

    entry_lookup = "entry__in"
    list_display = ["entry", "expected", "is_active", "marked_by", "marked_at"]
    list_filter = ["expected", "is_active"]


@admin.register(GoldReview)
class GoldReviewAdmin(VisibleEntriesAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Reviewers' answers to gold entries (their gold record), read-only."""

    entry_lookup = "gold__entry__in"
    list_display = ["gold", "reviewer", "verdict", "caught", "handed_at", "answered_at"]
    list_filter = ["caught", "verdict"]
    search_fields = ["reviewer__username"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name", "team", "show_on_leaderboard"]
    list_filter = ["team", "show_on_leaderboard"]
    # oidc_identity stays editable: emptying it lets the next company sign-in link the account
    # afresh (after the issuer changed, say; docs/security.md).
    search_fields = ["user__username", "display_name", "oidc_identity"]


@admin.register(ContributorAgreement)
class ContributorAgreementAdmin(admin.ModelAdmin):
    list_display = ["version", "published_at"]


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "agreement", "accepted_at"]
    list_filter = ["agreement"]


@admin.register(Flag)
class FlagAdmin(VisibleEntriesAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Flags are raised by the checks and resolved on the moderation page (which records who).
    Their evidence is shown masked, as on every page (Flag.evidence_shown)."""

    entry_lookup = "entry__in"
    list_display = ["entry", "kind", "blocking", "status", "created_at", "resolved_by"]
    list_filter = ["kind", "status", "blocking"]
    fields = [
        "entry",
        "kind",
        "evidence_shown",
        "blocking",
        "status",
        "raised_by",
        "duplicate_of",
        "similarity",
        "created_at",
        "resolved_by",
        "resolved_at",
        "note",
    ]

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class SourceAdminForm(forms.ModelForm):
    """An imported corpus's name and URL, held to annotation.sources' rules as an import is (the
    dataset card quotes them)."""

    # Text, so that the URL rule's message is the one shown (not Django's URLField's own).
    url = forms.CharField(required=False, max_length=MAX_URL_CHARS, label="URL")

    class Meta:
        model = Source
        fields = ["name", "url"]

    def clean_name(self):
        problem = sources.source_name_error(self.cleaned_data["name"])
        if problem:
            raise forms.ValidationError(problem)
        return self.cleaned_data["name"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            return sources.url_normalize(url) if url.strip() else ""
        except sources.SourceURLError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceAdminForm
    list_display = ["name", "license", "url", "created_at"]
    readonly_fields = ["license"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Anyone's API tokens, for staff to revoke; never the digest (nor, stored nowhere, the key)."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at"]
    list_filter = ["created_at", "last_used_at"]
    search_fields = ["user__username", "name", "prefix"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "expires_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # "Revoke" says what it does
        return actions

    @admin.action(description="Revoke the selected tokens", permissions=["view"])
    def revoke(self, request, queryset):
        tokens = list(queryset.select_related("user"))
        for token in tokens:
            services.api_token_revoke(token=token, by=request.user)
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)


class UserChangeForm(auth_admin.UserChangeForm):
    """The admin's account form, refusing an address another account has (in any case) with a
    message instead of the database's error."""

    def clean_email(self):
        email = self.cleaned_data.get("email", "")
        if selectors.email_taken(email=email, exclude_pk=self.instance.pk):
            raise forms.ValidationError("Another account has this e-mail address.")
        return email


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class UserAdmin(auth_admin.UserAdmin):
    form = UserChangeForm
    actions = ["erase"]

    def has_erase_permission(self, request):
        return is_admin(request.user)

    @admin.action(description="Erase the selected people's data", permissions=["erase"])
    def erase(self, request, queryset):
        """services.person_erase for each selected person, as this admin, after a page that
        says what is erased and kept and asks to confirm (as Django's "delete selected")."""
        people = list(queryset.order_by("pk"))
        if request.POST.get("confirmed") != "yes":
            return TemplateResponse(
                request,
                "admin/annotation/erase_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Erase these people's data?",
                    "people": people,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "opts": self.model._meta,
                },
            )
        erased, refused = [], []
        for person in people:
            name = person.get_username()
            if person.pk == request.user.pk:
                # Not in the middle of a batch, signing this admin out of the rest of it.
                refused.append(f"{name}: erase your own data from your profile.")
                continue
            try:
                services.person_erase(person=person, actor=request.user)
            except DomainError as exc:
                refused.append(f"{name}: {exc.message}")
            else:
                erased.append(name)
        if erased:
            self.message_user(request, f"Erased the data of {', '.join(erased)}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)
        return None
