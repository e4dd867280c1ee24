"""Reference corpora in the admin: for superusers only, listed and deleted, never browsed.

A corpus is imported with `manage.py import_dolly --reference NAME FILE` (there is no add
page), and its questions are never shown: not to writers, and not here either, where staff
who are not superusers (moderators) may work. ReferenceItem and ReferenceBucket are not
registered at all.
"""

from django.contrib import admin, messages

from quality import services
from quality.models import ReferenceCorpus, ReferenceItem


class SuperuserOnlyAdminMixin:
    def _superuser(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request):
        return self._superuser(request)

    def has_view_permission(self, request, obj=None):
        return self._superuser(request)

    def has_change_permission(self, request, obj=None):
        return self._superuser(request)

    def has_delete_permission(self, request, obj=None):
        return self._superuser(request)

    def has_add_permission(self, request):
        return False


@admin.register(ReferenceCorpus)
class ReferenceCorpusAdmin(SuperuserOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "item_count", "created_at", "created_by"]
    fields = ["name", "description", "item_count", "created_by", "created_at"]
    # The name is quoted in flags already raised: renaming would leave them naming another.
    readonly_fields = ["name", "item_count", "created_by", "created_at"]
    search_fields = ["name"]
    ordering = ["name"]

    def get_deleted_objects(self, objs, request):
        """The confirmation page counts the questions instead of listing them (a corpus may hold
        thousands, and the list would print each one)."""
        corpora = list(objs)
        questions = ReferenceItem.objects.filter(corpus__in=corpora).count()
        counts = {"reference corpora": len(corpora), "reference questions": questions}
        return [str(corpus) for corpus in corpora], counts, set(), []

    def delete_model(self, request, obj):
        services.reference_corpus_delete(corpus=obj)
        self._closing_later(request)

    def delete_queryset(self, request, queryset):
        for corpus in queryset:
            services.reference_corpus_delete(corpus=corpus)
        self._closing_later(request)

    def _closing_later(self, request):
        messages.info(
            request,
            "The open flags the deleted corpus raised close at the next quality rescan "
            "(nightly, before every snapshot, or `manage.py quality_rescan`).",
        )
