"""The moderation workbench: every entry, searched and filtered, and one action on many."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.functional import cached_property

from annotation import selectors, services
from annotation.forms import ModerationBulkForm, ModerationFilterForm
from annotation.services.moderation import MAX_BULK_ENTRIES, BulkResult
from annotation.views.review import moderator_required
from config.errors import DomainError

ENTRIES_PER_PAGE = 50
# The list counts matches up to this many: counting every one of a common word's matches among
# 150,000 entries takes seconds; past it the page says "more than" and pages through the first.
MATCHES_COUNTED = 10_000
# How many skipped entries the summary names before it says "and N more".
SKIPS_NAMED = 10


class CappedPaginator(Paginator):
    """Pages of at most MATCHES_COUNTED matches: counting stops there (`capped` says whether it
    did), so a search that matches most of the drive answers as fast as a narrow one."""

    @cached_property
    def count(self) -> int:
        counted = self.object_list[: MATCHES_COUNTED + 1].count()
        self.capped = counted > MATCHES_COUNTED
        return min(counted, MATCHES_COUNTED)


@moderator_required
def moderation_entries(request):
    """GET lists the entries the filters pick; POST applies one action to the ticked ones and
    comes back to the same filtered page. Bad filters are refused beside their fields (400),
    and a refused action keeps the selection and what was typed."""
    filter_form = ModerationFilterForm(request.GET)
    bulk_form = ModerationBulkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and bulk_form.is_valid():
        try:
            results = services.moderation_bulk(
                moderator=request.user,
                entry_ids=bulk_form.cleaned_data["entries"],
                action=bulk_form.cleaned_data["action"],
                kind=bulk_form.cleaned_data["kind"],
                reason=bulk_form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            bulk_form.add_service_errors(exc)
        except DomainError as exc:
            bulk_form.add_error(None, exc.message)
        else:
            _say_summary(request, results)
            return redirect(request.get_full_path())
    status = 400 if (filter_form.errors or bulk_form.errors) else 200
    return render(
        request,
        "annotation/moderation_entries.html",
        {
            **_listing(request, filter_form),
            "bulk_form": bulk_form,
            "selected": bulk_form.selected(),
            "max_bulk": MAX_BULK_ENTRIES,
        },
        status=status,
    )


def _listing(request, filter_form: ModerationFilterForm) -> dict:
    """The page of entries the filters pick; none while a filter is refused."""
    if not filter_form.is_valid():
        return {"filter_form": filter_form, "page": None, "query": {}}
    entries = selectors.moderation_entries(moderator=request.user, **filter_form.filters())
    page = CappedPaginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    count = page.paginator.count
    if page.paginator.capped:
        matching = f"More than {count:,} entries match; narrow the filters to see the rest"
    else:
        matching = f"{count:,} {'entry matches' if count == 1 else 'entries match'}"
    return {
        "filter_form": filter_form,
        "page": page,
        "page_links": page.paginator.get_elided_page_range(page.number, on_ends=1),
        "query": filter_form.query(),
        "matching": matching,
        "filtered": bool(filter_form.query()),
    }


def _say_summary(request, results: list[BulkResult]) -> None:
    """ "8 done; 2 skipped: #12 is your own entry; #13 is not under review." as a message."""
    done = sum(result.done for result in results)
    skipped = [result.detail for result in results if not result.done]
    text = f"{done:,} done"
    if skipped:
        named = "; ".join(skipped[:SKIPS_NAMED])
        more = f"; and {len(skipped) - SKIPS_NAMED:,} more" if len(skipped) > SKIPS_NAMED else ""
        text += f"; {len(skipped):,} skipped: {named}{more}."
    else:
        text += "."
    (messages.warning if skipped else messages.success)(request, text)
