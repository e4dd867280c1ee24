"""The writing flow: pick a category, write with autosave, submit, and "My entries"."""

import logging
from contextlib import suppress
from functools import wraps
from urllib.parse import urlencode
from uuid import uuid4

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from annotation import selectors, services
from annotation.events import draft_autosaved
from annotation.forms import EntryForm, EntryListFilterForm
from annotation.lookups import category_or_404, own_entry_or_404
from annotation.models import Category, Entry, EntryStatus
from annotation.text import ENTRY_FIELDS, citation_markers, validate_submission
from config.errors import ActionForbidden, DomainError, StateConflict

logger = logging.getLogger(__name__)


@login_required
def category_list(request):
    return render(
        request,
        "annotation/category_list.html",
        {
            "categories": selectors.category_list_with_progress(),
            "agreement": selectors.agreement_status(user=request.user),
        },
    )


def _render_write(
    request,
    form: EntryForm,
    entry: Entry | None,
    status: int = 200,
    *,
    conflict: services.DraftChanged | None = None,
    signed_out: bool = False,
    version: str = "",
):
    return render(
        request,
        "annotation/write.html",
        {
            "form": form,
            "category": form.category,
            "entry": entry,
            "version": selectors.draft_version(entry=entry) if entry else version,
            "conflict": _conflict_context(conflict, form),
            "signed_out": signed_out,
            "agreement": None if signed_out else selectors.agreement_status(user=request.user),
        },
        status=status,
    )


def _conflict_context(conflict: services.DraftChanged | None, form: EntryForm) -> dict | None:
    """The text another tab saved, field by field, for the page to offer beside the writer's."""
    if conflict is None:
        return None
    fields = [
        (name, form[name].label, conflict.current[name])
        for name in ENTRY_FIELDS
        if name in form.fields
    ]
    return {"message": conflict.message, "version": conflict.version, "fields": fields}


DRAFTS_OFFERED = 10


@login_required
def entry_new(request, slug: str):
    """A new entry's form; when the writer has unfinished drafts in the category, first a page
    offering them, with "start a new one" (?new=1) leading to the form. No draft is made until
    the first keystroke (the page's draft_key, entry_save_draft)."""
    category = category_or_404(slug)
    if "new" not in request.GET:
        drafts = selectors.entry_drafts_in_category(author=request.user, category=category)
        offered = list(drafts[: DRAFTS_OFFERED + 1])
        if offered:
            more = len(offered) > DRAFTS_OFFERED
            return render(
                request,
                "annotation/drafts_offer.html",
                {
                    "category": category,
                    "drafts": offered[:DRAFTS_OFFERED],
                    "draft_count": drafts.count() if more else len(offered),
                },
            )
    form = EntryForm(category=category, initial={"category": category.slug, "draft_key": uuid4()})
    return _render_write(request, form, entry=None)


@login_required
def entry_edit(request, entry_id: int):
    entry = own_entry_or_404(request.user, entry_id)
    if not entry.is_editable:
        return redirect("annotation:entry_detail", entry_id=entry.pk)
    initial = {"entry": entry.pk, "category": entry.category.slug, "draft_key": entry.draft_key}
    initial.update({name: getattr(entry, name) for name in ENTRY_FIELDS})
    form = EntryForm(category=entry.category, initial=initial, show_context=bool(entry.context))
    return _render_write(request, form, entry=entry)


def _form_from_post(request) -> tuple[EntryForm, Entry | None]:
    """The writing form as posted, with the draft it names (None for a page not saved yet)."""
    entry_id = request.POST.get("entry")
    if entry_id:
        entry = own_entry_or_404(request.user, entry_id)
        form = EntryForm(request.POST, category=entry.category, show_context=bool(entry.context))
        return form, entry
    category = category_or_404(request.POST.get("category", ""))
    return EntryForm(request.POST, category=category), None


def _save_draft(request, form: EntryForm, entry: Entry | None) -> Entry | None:
    """Save the page's text; its autosaves of one editing session fold into one revision, and a
    page that saw an older version of the draft than the stored one gets DraftChanged."""
    return services.entry_save_draft(
        author=request.user,
        category=form.category,
        values=form.text_values(),
        entry=entry,
        draft_key=form.draft_key_value(),
        version=request.POST.get("version", ""),
        fold=True,
    )


def login_required_htmx(view):
    """For htmx endpoints: a signed-out writer gets a message in the page, not the sign-in page
    swapped into the save status (and their text stays where it is)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _autosave_status(request, None, signed_out=True, status=401)
        return view(request, *args, **kwargs)

    return wrapped


def login_required_keep_text(view):
    """For the submit: a signed-out writer (signed out in another tab, session expired) gets the
    writing page back with every character they posted and a sign-in link opening a new tab,
    never a redirect to the sign-in page that would drop the text (and land on a GET of this
    POST-only URL)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.method != "POST":
            return redirect("annotation:entry_list")
        category = category_or_404(request.POST.get("category", ""))
        form = EntryForm(
            request.POST, category=category, show_context=bool(request.POST.get("context"))
        )
        # The version the page had stays on it, so that the save after signing in again is still
        # checked against what another tab may have saved meanwhile.
        return _render_write(
            request,
            form,
            entry=None,
            status=401,
            signed_out=True,
            version=request.POST.get("version", "")[:64],
        )

    return wrapped


@login_required_htmx
@require_POST
def entry_autosave(request):
    """htmx: save the draft as the writer types; answers with the save status fragment."""
    form, entry = _form_from_post(request)
    try:
        entry = _save_draft(request, form, entry)
    except ValidationError as exc:
        problems = " ".join(exc.messages)
        return _autosave_status(request, None, error=f"Not saved: {problems}", status=400)
    except services.DraftChanged as exc:
        response = _autosave_status(
            request, None, conflict=_conflict_context(exc, form), status=exc.status_code
        )
        response["X-Draft-Version"] = exc.version
        return response
    except DomainError as exc:
        return _autosave_status(request, None, error=exc.message, status=exc.status_code)
    # A passage loses its citation markers when saved: tell the writer, and give the page the
    # saved passage to show (flock.js puts it in the field unless they typed on meanwhile).
    posted_context = form.text_values().get("context", "").replace("\r\n", "\n")
    removed = citation_markers(posted_context) if entry is not None else []
    response = _autosave_status(
        request,
        entry,
        removed_markers=removed,
        posted_context=posted_context,
        extras=_autosave_extras(request, entry),
    )
    if entry is not None:
        # A reload (or a reopened tab) lands on the draft, not on an empty form.
        response["HX-Replace-Url"] = reverse("annotation:entry_edit", args=[entry.pk])
        # The page's next save carries it (the keepalive save of a hidden tab reads it here).
        response["X-Draft-Version"] = selectors.draft_version(entry=entry)
    return response


def _autosave_extras(request, entry: Entry | None) -> list[str]:
    """What other apps add to a saved autosave's answer (quality's similarity warning:
    annotation/events.py, draft_autosaved). One that fails is logged and left out: the draft is
    saved, and the answer must say so."""
    extras = []
    for receiver, html in draft_autosaved.send_robust(sender=Entry, request=request, entry=entry):
        if isinstance(html, Exception):
            logger.error("%s failed on an autosave", receiver, exc_info=html)
        elif html:
            extras.append(html)
    return extras


def _autosave_status(
    request,
    entry,
    *,
    error: str = "",
    status: int = 200,
    removed_markers: tuple[str, ...] | list[str] = (),
    posted_context: str = "",
    signed_out: bool = False,
    conflict: dict | None = None,
    extras: list[str] | None = None,
) -> HttpResponse:
    return render(
        request,
        "annotation/_save_status.html",
        {
            "entry": entry,
            "error": error,
            "saved_at": timezone.localtime(),
            "removed_markers": removed_markers,
            "posted_context": posted_context,
            "version": selectors.draft_version(entry=entry) if entry else "",
            "signed_out": signed_out,
            "conflict": conflict,
            "extras": extras or [],
        },
        status=status,
    )


@login_required_keep_text
@require_POST
def entry_submit(request):
    """Save what was typed as a draft first, then try to submit; errors keep every character."""
    form, entry = _form_from_post(request)
    try:
        entry = _save_draft(request, form, entry)
        if entry is None:  # nothing typed: report the rules for an empty entry
            validate_submission(category=form.category, values=form.text_values())
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _render_write(request, form, entry=entry, status=400)
    except services.DraftChanged as exc:
        # Both texts on the page: the writer's as posted, the other tab's beside it.
        return _render_write(request, form, entry=entry, status=exc.status_code, conflict=exc)
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _render_write(request, form, entry=entry, status=exc.status_code)

    # The form now points at the saved draft, so a failed submit keeps editing the same one.
    form.data = form.data.copy()
    form.data["entry"] = str(entry.pk)
    try:
        services.entry_submit(entry=entry, actor=request.user)
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _render_write(request, form, entry=entry, status=400)
    except ActionForbidden as exc:
        messages.warning(request, exc.message)
        edit_url = reverse("annotation:entry_edit", args=[entry.pk])
        return redirect(f"{reverse('agreement')}?{urlencode({'next': edit_url})}")
    except StateConflict as exc:
        messages.error(request, exc.message)
        return redirect("annotation:entry_detail", entry_id=entry.pk)
    messages.success(request, f"Entry #{entry.pk} is submitted for peer review. Thank you!")
    # The list of submitted entries, offering to write another in the same category.
    query = urlencode({"status": EntryStatus.SUBMITTED, "written_in": entry.category.slug})
    return redirect(f"{reverse('annotation:entry_list')}?{query}")


# POST-only: a sign-in whose `next` names them lands on the writer's entries (SignInView).
entry_submit.after_sign_in = "annotation:entry_list"
entry_autosave.after_sign_in = "annotation:entry_list"


# --- My entries ------------------------------------------------------------------------------


ENTRIES_PER_PAGE = 25


@login_required
def entry_list(request):
    """My entries: paged, searchable, filtered by status and category (all in the query string).
    A page number out of range or not a number shows the last or the first page."""
    filter_form = EntryListFilterForm(request.GET)
    filters = filter_form.filters()
    entries = selectors.entry_list_for_author(author=request.user, **filters)
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    counts = selectors.entry_counts_by_status(
        author=request.user, category=filters["category"], search=filters["search"]
    )
    # After a submit (entry_submit): offer to write another entry in the same category.
    write_another = None
    if written_in := request.GET.get("written_in"):
        with suppress(Category.DoesNotExist):
            write_another = selectors.category_get_active(slug=written_in)
    return render(
        request,
        "annotation/entry_list.html",
        {
            "page": page,
            "page_links": page.paginator.get_elided_page_range(page.number, on_ends=1),
            "query": filter_form.query(),
            "tabs": [(value, label, counts[value]) for value, label in EntryStatus.choices],
            "total": sum(counts.values()),
            "current_status": filters["status"] or "",
            "filter_form": filter_form,
            "filtered": bool(filters["category"] or filters["search"]),
            "write_another": write_another,
        },
    )


@login_required
def entry_detail(request, entry_id: int):
    entry = own_entry_or_404(request.user, entry_id)
    return render(
        request,
        "annotation/entry_detail.html",
        {
            "entry": entry,
            "text": selectors.entry_text_for_author(entry=entry),
            "revisions": selectors.revision_list_for_author(entry=entry),
            "feedback": selectors.entry_feedback(entry=entry),
            "flags": selectors.flags_for_entry(entry=entry),
            "release_removal": selectors.release_removal_of(entry=entry),
        },
    )


_ENTRY_ACTIONS = {
    "withdraw": (services.entry_withdraw, "Entry withdrawn from review."),
    "reopen": (services.entry_reopen, "The entry is a draft again; revise it and submit."),
    "delete": (services.entry_delete, "Draft deleted."),
    "release-withdraw": (
        services.entry_release_withdraw,
        "Entry withdrawn from future releases: the next snapshot leaves it out.",
    ),
}

# Actions that ask first: GET (or a POST without `confirm`) answers with the question, whose
# button posts `confirm`; only that post acts.
_CONFIRMED_ACTIONS = {"withdraw", "delete", "release-withdraw"}
# Actions after which the writer stays on the entry's page (it is still theirs to read).
_STAY_ON_ENTRY = {"release-withdraw"}


@login_required
@require_http_methods(["GET", "POST"])
def entry_action(request, entry_id: int, action: str):
    if action not in _ENTRY_ACTIONS:
        raise Http404("No such action.")
    entry = own_entry_or_404(request.user, entry_id)
    if action in _CONFIRMED_ACTIONS and not (
        request.method == "POST" and request.POST.get("confirm") == "yes"
    ):
        return render(request, "annotation/entry_confirm.html", {"entry": entry, "action": action})
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    service, done = _ENTRY_ACTIONS[action]
    try:
        service(entry=entry, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("annotation:entry_detail", entry_id=entry.pk)
    messages.success(request, done)
    if action == "reopen":
        return redirect("annotation:entry_edit", entry_id=entry.pk)
    if action in _STAY_ON_ENTRY:
        return redirect("annotation:entry_detail", entry_id=entry.pk)
    return redirect("annotation:entry_list")


def _revision_or_404(request, entry_id: int, number: int):
    entry = own_entry_or_404(request.user, entry_id)
    revision = selectors.revision_for_author(entry=entry, number=number)
    if revision is None:
        raise Http404("No such revision.")
    return entry, revision


@login_required
def entry_revision(request, entry_id: int, number: int):
    """One revision of the author's own entry, with a button to restore it into the draft."""
    entry, revision = _revision_or_404(request, entry_id, number)
    return render(
        request,
        "annotation/revision_detail.html",
        {
            "entry": entry,
            "revision": revision,
            "fields": [(name, getattr(revision, name)) for name in ENTRY_FIELDS],
            "restorable": entry.status == EntryStatus.DRAFT,
        },
    )


@login_required
@require_POST
def entry_revision_restore(request, entry_id: int, number: int):
    """Make the draft's text this revision's text (a new revision); only while it is a draft."""
    entry, revision = _revision_or_404(request, entry_id, number)
    if entry.status != EntryStatus.DRAFT:
        raise Http404("Only a draft's revisions can be restored.")
    try:
        entry = services.revision_restore(entry=entry, actor=request.user, number=revision.number)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("annotation:entry_detail", entry_id=entry.pk)
    messages.success(
        request, f"Restored r{revision.number}; it is now revision r{entry.revision_count}."
    )
    return redirect("annotation:entry_edit", entry_id=entry.pk)


entry_revision_restore.after_sign_in = "annotation:entry_list"
